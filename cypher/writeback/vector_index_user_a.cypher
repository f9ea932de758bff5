// Purpose: cosine vector index user_embedding over :User(embedding) (embedding slot 'a'); populated asynchronously.
// Params:
//   $dim  INTEGER  vector dimension
// Example:
//   :param dim => 64
CREATE VECTOR INDEX user_embedding IF NOT EXISTS
FOR (n:User)
ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}
