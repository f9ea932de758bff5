// Purpose: uniqueness of :WritebackLease(name): one write-back lease per database, so two writers cannot both create it.
// Params: none
// Example:
//   (no parameters)
CREATE CONSTRAINT writebacklease_name IF NOT EXISTS
FOR (l:WritebackLease) REQUIRE l.name IS UNIQUE
