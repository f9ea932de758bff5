// Purpose: demographics of the users in a training subgraph (null where the release has none),
//   one row holding a [userId, gender, age, occupation] list per user.
// Params:
//   $userIds  LIST<INTEGER>  users to describe
// Example:
//   :param userIds => [1, 2, 3]
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
RETURN collect([userId, u.gender, u.age, u.occupation]) AS rows
