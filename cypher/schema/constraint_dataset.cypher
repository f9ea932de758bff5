// Purpose: uniqueness of :Dataset(name), the provenance node of a load.
// Params: none
// Example:
//   (no parameters)
CREATE CONSTRAINT dataset_name IF NOT EXISTS
FOR (d:Dataset) REQUIRE d.name IS UNIQUE
