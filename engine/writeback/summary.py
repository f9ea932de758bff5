"""What a write-back wrote, deleted and how fast (printed by ``engine train`` / ``engine writeback``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.schema import SLOTS

__all__ = ["WritebackSummary"]


@dataclass
class WritebackSummary:
    """What a write-back wrote, deleted and how fast."""

    run_id: str
    action: str  # 'written' | 'resumed' | 'switched' | 'unchanged'
    users: int = 0
    recommended: int = 0
    dropped_rated: int = 0
    #: who dropped already-rated movies: 'writer' (numpy, engine.writeback.rated) or 'statement'
    rated_check: str | None = None
    similar: int = 0
    user_vectors: int = 0
    movie_vectors: int = 0
    cleared_vectors: int = 0
    slot: str | None = None
    previous_run: str | None = None
    deleted_runs: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # runs a crashed writer left, deleted first
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return sum(self.seconds.values())

    @property
    def rows(self) -> int:
        """Rows written: edges plus vectors."""
        return self.recommended + self.similar + self.user_vectors + self.movie_vectors

    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else float("nan")

    def __str__(self) -> str:
        return (f"run {self.run_id} {self.action}: {self.recommended:,} RECOMMENDED, "
                f"{self.similar:,} SIMILAR, {self.user_vectors + self.movie_vectors:,} vectors "
                f"in {self.elapsed:.1f}s")

    def table(self) -> str:
        """A printable summary."""
        lines = [
            f"run {self.run_id}: {self.action}"
            + (f" (previous current run: {self.previous_run})" if self.previous_run else ""),
            f"  RECOMMENDED {self.recommended:>12,}  for {self.users:,} users"
            + (f" ({self.dropped_rated:,} already-rated movies skipped)" if self.dropped_rated else ""),
            f"  SIMILAR     {self.similar:>12,}",
            f"  vectors     {self.user_vectors:>12,} users, {self.movie_vectors:,} movies"
            + (f" in slot {self.slot} ({SLOTS[self.slot].property})" if self.slot else ""),
        ]
        if self.orphans:
            lines.append(f"  deleted unfinished runs of a crashed write-back: {', '.join(self.orphans)}")
        if self.deleted_runs:
            lines.append(f"  deleted old runs: {', '.join(self.deleted_runs)}")
        lines.append(
            f"  {self.rows:,} rows in {self.elapsed:.1f}s ({self.rows_per_second():,.0f} rows/s; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()) + ")"
        )
        return "\n".join(lines)
