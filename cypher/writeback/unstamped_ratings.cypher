// Purpose: how many RATED edges carry no ratedAt (loaded ratings, or written by a client that skipped the
//   live-update contract). Read before an export and again at write-back: if it grew, ratings appeared that
//   the writer cannot see by ratedAt, so the write statements check already-rated movies themselves.
//   The total comes from the count store; the stamped ones from the rated_ratedAt range index.
// Params: none
// Example:
//   (no parameters)
CALL () { MATCH ()-[r:RATED]->() RETURN count(r) AS total }
CALL () { MATCH ()-[r:RATED]->() WHERE r.ratedAt IS NOT NULL RETURN count(r) AS stamped }
RETURN total - stamped AS unstamped
