// Purpose: uniqueness of :Movie(movieId); also the index every load and query seeks by.
// Params: none
// Example:
//   (no parameters)
CREATE CONSTRAINT movie_movieId IF NOT EXISTS
FOR (m:Movie) REQUIRE m.movieId IS UNIQUE
