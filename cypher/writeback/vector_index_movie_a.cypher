// Purpose: cosine vector index movie_embedding over :Movie(embedding) (embedding slot 'a'); populated asynchronously.
// Params:
//   $dim  INTEGER  vector dimension
// Example:
//   :param dim => 64
CREATE VECTOR INDEX movie_embedding IF NOT EXISTS
FOR (n:Movie)
ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}
