// Purpose: remove a slot's vector from a batch of users (stale vectors of an older run).
// Params:
//   $property  STRING         slot property, 'embedding' or 'embeddingB'
//   $ids       LIST<INTEGER>  userIds
// Example:
//   :param {property: 'embeddingB', ids: [1, 2]}
UNWIND $ids AS id
MATCH (u:User {userId: id})
REMOVE u[$property]
RETURN count(u) AS cleared
