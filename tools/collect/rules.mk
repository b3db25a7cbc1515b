# tools/collect: the review page's browser test, headless Chromium on review.html from file://
# (site/test/review.mjs): name clusters by keyboard, untick, export, reload, reject, then `collect apply`.
.PHONY: test-collect-page

test-collect-page: $(TOONID) node_modules ## the collection review page in headless Chromium
	nice node site/test/review.mjs

TEST_TARGETS += test-collect-page
