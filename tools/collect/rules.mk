# tools/collect: the review page's browser test, headless Chromium on review.html from file://
# (site/test/review.mjs): name clusters by keyboard, untick, export, reload, reject, then `collect apply`;
# site/test/review-video.mjs: the tracks of a clip ffmpeg composites, one name per track.
.PHONY: test-collect-page test-collect-video

test-collect-page: $(TOONID) node_modules ## the collection review page in headless Chromium (images, and tracks of a video: ffmpeg required)
	nice node site/test/review.mjs
	@command -v ffmpeg >/dev/null 2>&1 || { echo "test-collect-page: ffmpeg is not on PATH: run make setup (apt-get install ffmpeg)"; exit 1; }
	nice node site/test/review-video.mjs

TEST_TARGETS += test-collect-page

# collect propose on a video: a clip the test makes with ffmpeg, tracks counted. ffmpeg is
# required here (tools/setup.sh installs Debian's), so this target fails where `go test` skips.
test-collect-video: ## collect propose on a generated video (ffmpeg required): faces grouped by track
	@command -v ffmpeg >/dev/null 2>&1 || { echo "test-collect-video: ffmpeg is not on PATH: run make setup (apt-get install ffmpeg)"; exit 1; }
	TOONID_REQUIRE_FFMPEG=1 $(SIMD) nice $(GO) test -count=1 -run 'Video' ./tools/collect

TEST_TARGETS += test-collect-video
