// Purpose: upsert a batch of :User nodes with demographics where the release has them.
// Params:
//   $rows  LIST<MAP>  {userId: INTEGER, gender: STRING?, age: INTEGER?, occupation: STRING?, zip: STRING?}
// Example:
//   :param rows => [{userId: 1, gender: 'M', age: 24, occupation: 'technician', zip: '85711'}]
UNWIND $rows AS row
MERGE (u:User {userId: row.userId})
SET u.gender = row.gender, u.age = row.age, u.occupation = row.occupation, u.zip = row.zip
