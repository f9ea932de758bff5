// Purpose: demographics of the users in a training subgraph (null where the release has none).
// Params:
//   $userIds  LIST<INTEGER>  users to describe
// Example:
//   :param userIds => [1, 2, 3]
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
RETURN userId, u.gender AS gender, u.age AS age, u.occupation AS occupation
