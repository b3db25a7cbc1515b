# tools/collect: the review page's browser test, headless Chromium on review.html from file://
# (site/test/review.mjs): name clusters by keyboard, untick, export, reload, reject, then `collect apply`.
.PHONY: test-collect-page

# The test binary embeds the review page and the collect package.
$(BUILD)/site-test/toonid: $(wildcard tools/collect/*.go tools/collect/review/*)

test-collect-page: $(BUILD)/site-test/toonid node_modules ## the collection review page in headless Chromium
	nice node site/test/review.mjs

TEST_TARGETS += test-collect-page
