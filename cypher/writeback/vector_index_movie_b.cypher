// Purpose: cosine vector index movie_embedding_b over :Movie(embeddingB) (embedding slot 'b'); populated asynchronously.
// Params:
//   $dim  INTEGER  vector dimension
// Example:
//   :param dim => 64
CREATE VECTOR INDEX movie_embedding_b IF NOT EXISTS
FOR (n:Movie)
ON n.embeddingB
OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}
