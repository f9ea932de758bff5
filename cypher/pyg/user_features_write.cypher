// Purpose: store a feature vector on each given user (the PyG FeatureStore's put; run before mini-batch training).
// Params:
//   $rows      LIST<MAP>  {id: userId, x: the value} per user: an INTEGER, FLOAT or BOOLEAN, a list of them, or float32 BYTES
//   $property  STRING     the node property to set
// Example:
//   :param {property: 'trainFeatures', rows: [{id: 1, x: [0.5, -1.0]}]}
UNWIND $rows AS row
MATCH (u:User {userId: row.id})
SET u[$property] = row.x
RETURN count(u) AS written
