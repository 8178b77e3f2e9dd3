-- 004-batch-seed.sql — the seed each batch's random order was drawn with.
--
-- Applied by store_open() inside one transaction, after which PRAGMA
-- user_version = 4.  Described in docs/schema.md, docs/queue.md (SEEDS) and
-- docs/matrix.md (ORDER).
--
-- A queue entry that repeats (--every) makes one batch per start from the
-- same matrix text; each batch's order is drawn with its own seed, derived
-- from the matrix's seed and the batch's occurrence number
-- (controller/matrix.c matrix_batch_seed).  Kept here so that any batch's
-- order can be replayed: a matrix with "seed" set to it expands to that order.

-- The seed of the batch's random order, 0 .. 2^53 - 1; NULL for a sequential
-- order and for batches from before 004.
ALTER TABLE batch ADD COLUMN seed INTEGER CHECK (seed IS NULL OR seed BETWEEN 0 AND 9007199254740991);
