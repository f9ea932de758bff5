// Purpose: uniqueness of :Genre(name).
// Params: none
// Example:
//   (no parameters)
CREATE CONSTRAINT genre_name IF NOT EXISTS
FOR (g:Genre) REQUIRE g.name IS UNIQUE
