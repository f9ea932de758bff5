// Purpose: one node property of a batch of users (the Neo4j-backed PyG FeatureStore reads a mini-batch's features).
// Params:
//   $userIds   LIST<INTEGER>  the users of the batch
//   $property  STRING         the node property: a number, a boolean, a list of them, or float32 bytes
// Example:
//   :param {userIds: [1, 2, 3], property: 'trainFeatures'}
UNWIND $userIds AS id
MATCH (u:User {userId: id})
RETURN collect(u.userId) AS ids, collect(u[$property]) AS values
