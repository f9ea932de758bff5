// Purpose: uniqueness of :User(userId); also the index every load and query seeks by.
// Params: none
// Example:
//   (no parameters)
CREATE CONSTRAINT user_userId IF NOT EXISTS
FOR (u:User) REQUIRE u.userId IS UNIQUE
