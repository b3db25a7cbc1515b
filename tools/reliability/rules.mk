# The reliability table in BENCHMARKS.md: hostile inputs (corrupt, truncated and resealed models,
# broken and memory-bomb pack manifests, lying shards, hostile names, non-images, image bombs,
# hostile requests) through the real entry points, each refused or accepted as its row says, with
# the memory each allocated. tools/reliability's TestReliability (go test) checks the same rows.
.PHONY: reliability
reliability: ## regenerate BENCHMARKS.md's reliability table (hostile inputs: refused, accepted, memory)
	$(SIMD) $(GO) run ./tools/reliability -o BENCHMARKS.md

BENCH_TARGETS += reliability
