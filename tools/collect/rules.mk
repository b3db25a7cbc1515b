# tools/collect: the review page's browser test, headless Chromium on review.html from file://
# (site/test/review.mjs). Not in TEST_TARGETS until it has had a first run on a machine with Chromium.
.PHONY: test-collect-page

# The test binary embeds the review page and the collect package.
$(BUILD)/site-test/toonid: $(wildcard tools/collect/*.go tools/collect/review/*)

test-collect-page: $(BUILD)/site-test/toonid node_modules
	nice node site/test/review.mjs
