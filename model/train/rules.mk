# model/train: the PyTorch recipe for the shipped embedder (see MODEL_CARD.md).
# make train        full recipe: data -> train the ResNet (50 + 16 + 90 + 95 min on 2 CPU cores) -> export ->
#                   train-dual (+ the ImageNet MobileNetV2 branch, ~3 min) -> quantize -> eval
# make train-smoke  tiny end-to-end check (< 1 min): a few identities, a few steps, export, op list
# make test-train   unit tests (adapter, generator determinism, metrics, export contract)

TRAIN_DIR := model/train
TRAIN_DATA := $(TRAIN_DIR)/data
TRAIN_RUN := $(TRAIN_DIR)/runs/main
SHARED_ART ?= ../shared/data
TRAIN_MINUTES ?= 50
TRAIN_HOLDOUT ?= croodles,personas,sketch
TRAIN_IDS ?= 2000
PROC_IDS ?= 1500

.PHONY: train train-dual train-data train-smoke test-train train-eval train-mnv2 train-mnv2-head train-ablation

$(TRAIN_DATA)/dicebear/train/manifest-0.tsv: $(TRAIN_DIR)/dicebear_gen.mjs | node_modules
	rm -rf $(TRAIN_DATA)/dicebear && mkdir -p $(TRAIN_DATA)/dicebear/train $(TRAIN_DATA)/dicebear/eval
	for i in 0 1; do nice -n 10 node $(TRAIN_DIR)/dicebear_gen.mjs --out $(TRAIN_DATA)/dicebear/train --first 0 --count $(TRAIN_IDS) --variants 2 --shard $$i/2 & done; wait
	for i in 0 1; do nice -n 10 node $(TRAIN_DIR)/dicebear_gen.mjs --out $(TRAIN_DATA)/dicebear/eval --first 100000 --count 200 --variants 4 --shard $$i/2 & done; wait

$(TRAIN_DATA)/procgen/train/manifest-0.tsv: $(TRAIN_DIR)/procgen.py
	rm -rf $(TRAIN_DATA)/procgen && mkdir -p $(TRAIN_DATA)/procgen/train $(TRAIN_DATA)/procgen/eval
	for i in 0 1; do nice -n 10 $(PYTHON) $(TRAIN_DIR)/procgen.py --out $(TRAIN_DATA)/procgen/train --first 0 --count $(PROC_IDS) --variants 2 --shard $$i/2 & done; wait
	for i in 0 1; do nice -n 10 $(PYTHON) $(TRAIN_DIR)/procgen.py --out $(TRAIN_DATA)/procgen/eval --first 100000 --count 200 --variants 4 --shard $$i/2 & done; wait

$(TRAIN_DATA)/real/train/manifest-0.tsv: $(TRAIN_DIR)/data.py
	$(PYTHON) $(TRAIN_DIR)/prepare.py shared --shared $(SHARED_ART) --data $(TRAIN_DATA)

train-data: $(TRAIN_DATA)/dicebear/train/manifest-0.tsv $(TRAIN_DATA)/procgen/train/manifest-0.tsv $(TRAIN_DATA)/real/train/manifest-0.tsv ## only the training data: DiceBear, procedural, shared art, eval manifests
	$(PYTHON) $(TRAIN_DIR)/prepare.py manifests --data $(TRAIN_DATA) --holdout-styles $(TRAIN_HOLDOUT)
	$(PYTHON) $(TRAIN_DIR)/prepare.py calib --data $(TRAIN_DATA)

# Stage 1: cross-style identities everywhere (TRAIN_MINUTES). Stage 2: init from stage 1, ArcFace
# classes per DiceBear style (SupCon still ties a character's styles together), TRAIN_FT_MINUTES.
# Both keep the held-out styles out. Stage 3 continues stage 2 with the same per-style recipe for
# TRAIN_ST3_MINUTES twice at once, one thread each: runs/val3 still without the held-out styles,
# runs/main3 on every style. Stage 4 repeats stage 3 from each (a fresh warm-up and cosine, another
# seed) for TRAIN_ST4_MINUTES: runs/val (its metrics on the held-out styles are the validation
# numbers) and runs/main (the shipped model). About 50 + 16 + 90 + 95 min on 2 cores, plus data,
# whitening and evaluation.
TRAIN_FT_MINUTES ?= 16
TRAIN_ST3_MINUTES ?= 90
TRAIN_ST4_MINUTES ?= 95
TRAIN_VAL := $(TRAIN_DIR)/runs/val
TRAIN_SOURCES = $(TRAIN_DATA)/dicebear/train,$(TRAIN_DATA)/procgen/train,$(TRAIN_DATA)/real/train
TRAIN_PERSTYLE = --p 24 --k 4 --supcon 1.0 --lr 1e-3 --sizes 80,96 --arc-per-style
# TRAIN_PAIR runs one per-style stage twice at once, one thread each: the twin into $(TRAIN_VAL)$(4)
# without the held-out styles, the shipped run into $(TRAIN_RUN)$(4) on all. $(1) minutes, $(2) and
# $(3) their init weights, $(5) extra train.py flags.
define TRAIN_PAIR
nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py --data $(TRAIN_SOURCES) --out $(TRAIN_VAL)$(4) --minutes $(1) --threads 1 $(5) \
	$(TRAIN_PERSTYLE) --init $(2) --holdout-styles $(TRAIN_HOLDOUT) --cache $(TRAIN_DATA)/cache_holdout.npz & \
nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py --data $(TRAIN_SOURCES) --out $(TRAIN_RUN)$(4) --minutes $(1) --threads 1 $(5) \
	$(TRAIN_PERSTYLE) --init $(3) --cache $(TRAIN_DATA)/cache_all.npz & \
wait
endef
train: train-data ## the full training recipe -> model/shipped (see model/train/README.md)
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py --data $(TRAIN_SOURCES) --out $(TRAIN_DIR)/runs/stage1 \
		--minutes $(TRAIN_MINUTES) --p 24 --k 4 --supcon 1.0 --holdout-styles $(TRAIN_HOLDOUT) --cache $(TRAIN_DATA)/cache_holdout.npz
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py --data $(TRAIN_SOURCES) --out $(TRAIN_DIR)/runs/stage2 --minutes $(TRAIN_FT_MINUTES) \
		$(TRAIN_PERSTYLE) --init $(TRAIN_DIR)/runs/stage1/model.pt --holdout-styles $(TRAIN_HOLDOUT) --cache $(TRAIN_DATA)/cache_holdout.npz
	$(call TRAIN_PAIR,$(TRAIN_ST3_MINUTES),$(TRAIN_DIR)/runs/stage2/model.pt,$(TRAIN_DIR)/runs/stage2/model.pt,3,)
	$(call TRAIN_PAIR,$(TRAIN_ST4_MINUTES),$(TRAIN_VAL)3/model.pt,$(TRAIN_RUN)3/model.pt,,--seed 4)
	$(PYTHON) $(TRAIN_DIR)/whiten.py --run $(TRAIN_VAL) --cache $(TRAIN_DATA)/cache_holdout.npz --eval $(wildcard $(TRAIN_DATA)/eval/*.tsv)
	$(SIMD) $(GO) run ./tools/toonid quantize -f32-dense -mirror -calib $(TRAIN_DATA)/calib -o $(TRAIN_VAL)/toonid.tmdl $(TRAIN_VAL)/toonid.onnx
	$(PYTHON) $(TRAIN_DIR)/whiten.py --run $(TRAIN_RUN) --cache $(TRAIN_DATA)/cache_all.npz \
		--out model/shipped/resnet.onnx --eval $(wildcard $(TRAIN_DATA)/eval/*.tsv)
	$(MAKE) train-dual
	$(MAKE) train-eval

# The MobileNetV2 recipe (measured, not shipped: MODEL_CARD.md, "MobileNetV2 student"): the ImageNet MobileNetV2 trunk of npm nsfwjs, converted
# (tfjs_mnv2.mjs dump + mnv2.py), through block_13_expand_relu at 112 px; stem..block_10 (the Keras
# ImageNet weights) stay fixed, so their activations on TRAIN_VIEWS augmented views of every
# training image are computed once (about 27 min for 2 views on 2 cores), then blocks 11-13 and the
# 576->128 projection train for MNV2_MINUTES with ArcFace + cross-style SupCon, pulled toward the
# starting trunk (L2-SP) and toward its similarity structure (relational distillation). The held-out
# styles (TRAIN_HOLDOUT) are never trained on, so their eval manifest is the validation. Every
# step resumes (the views file is reused when it matches; train.py
# --resume continues from the run's checkpoint).
MNV2_MINUTES ?= 20
TRAIN_VIEWS ?= 2
MNV2_TFJS := $(TRAIN_DATA)/nsfwjs_mnv2
TRAIN_COMMON = --data $(TRAIN_SOURCES) --holdout-styles $(TRAIN_HOLDOUT) --cache $(TRAIN_DATA)/cache_holdout.npz \
	--p 24 --k 4 --supcon 1.0 --lr 1e-3 --arc-per-style --arch mnv2 --tfjs $(MNV2_TFJS)
TRAIN_TAIL = $(TRAIN_COMMON) --freeze-through 10 --views $(TRAIN_VIEWS) --feature-cache $(TRAIN_DATA)/views_holdout.npy --trunk-lr 0.1
TRAIN_KEEP = --l2sp 0.01 --rkd 1
# MNV2_VIEWS makes (or finds, when it matches) the views file on its own: a one-step run on 2 threads.
MNV2_VIEWS = nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py $(TRAIN_TAIL) --out $(TRAIN_DIR)/runs/warmviews --max-steps 1 --threads 2
TRAIN_EVALS = tools/gallery/realval/manifest.tsv $(wildcard $(TRAIN_DATA)/eval/*.tsv) tools/gallery/eval.tsv
TRAIN_QUANT = -mean 0,0,0 -std 1,1,1 -calib $(TRAIN_DATA)/calib

$(MNV2_TFJS)/model.json: $(TRAIN_DIR)/tfjs_mnv2.mjs | node_modules
	node $(TRAIN_DIR)/tfjs_mnv2.mjs dump --out $(MNV2_TFJS)

# The shipped embedder (MODEL_CARD.md, "The dual embedder"): the ResNet above (model/shipped/resnet.onnx)
# beside the ImageNet MobileNetV2 trunk of npm nsfwjs, the trunk untouched. dual.py fits the second
# branch's PCA whitening on the trunk's features of every image of ~16,000 training images' identities
# (the held-out styles left out, so their eval manifest stays a validation), trains that 576->128
# head from the PCA start (cross-style SupCon + relational distillation toward the trunk, 1,500
# steps) and merges the two graphs on one input (about 3 min on 2 cores); then int8 with float32
# depthwise weights, mirror-averaged, and scored.
DUAL_RUN := $(TRAIN_DIR)/runs/dual
train-dual: train-data $(MNV2_TFJS)/model.json ## the shipped two-branch embedder: resnet.onnx + MobileNetV2 -> model/shipped/toonid.{onnx,tmdl}, scored
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/dual.py --shipped model/shipped/resnet.onnx --tfjs $(MNV2_TFJS) --data $(TRAIN_SOURCES) \
		--holdout-styles $(TRAIN_HOLDOUT) --n 16000 --head-steps 1500 --work $(DUAL_RUN) --out model/shipped/toonid.onnx
	$(SIMD) $(GO) run ./tools/toonid quantize -f32-depthwise -mirror -calib $(TRAIN_DATA)/calib -o model/shipped/toonid.tmdl model/shipped/toonid.onnx
	for m in $(TRAIN_EVALS); do echo dual $$m; $(GO) run ./tools/toonid eval -manifest $$m -model model/shipped/toonid.tmdl -json || exit 1; done

# The colour cue (MODEL_CARD.md, "The colour cue", measured and not shipped): the shipped dual
# with a foreground colour histogram of 5 bins per channel (125 cells) appended at half the CNN
# part's length, centred on the calibration images; then scored like the shipped file.
COLOUR_CUE := -colour-bins 5 -colour-weight 0.5
COLOUR_RUN := $(TRAIN_DIR)/runs/colour
.PHONY: train-colour
train-colour: train-data ## the shipped dual + the colour cue (measured, not shipped) into runs/colour, scored
	mkdir -p $(COLOUR_RUN)
	$(SIMD) $(GO) run ./tools/toonid quantize -f32-depthwise -mirror $(COLOUR_CUE) -calib $(TRAIN_DATA)/calib -o $(COLOUR_RUN)/toonid.tmdl model/shipped/toonid.onnx
	for m in $(TRAIN_EVALS); do echo colour $$m; $(GO) run ./tools/toonid eval -manifest $$m -model $(COLOUR_RUN)/toonid.tmdl -json || exit 1; done

MNV2_RUN := $(TRAIN_DIR)/runs/mnv2
train-mnv2: train-data $(MNV2_TFJS)/model.json ## the MobileNetV2 student (measured, not shipped) into runs/mnv2, int8, scored
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py $(TRAIN_TAIL) $(TRAIN_KEEP) --out $(MNV2_RUN) --minutes $(MNV2_MINUTES) --threads 2 --resume
	$(SIMD) $(GO) run ./tools/toonid quantize $(TRAIN_QUANT) -f32-depthwise -min-cos 0.95 -o $(MNV2_RUN)/toonid.tmdl $(MNV2_RUN)/toonid.onnx
	$(PYTHON) $(TRAIN_DIR)/evaluate.py --run $(MNV2_RUN) $(TRAIN_EVALS)
	$(PYTHON) $(TRAIN_DIR)/evaluate.py --zeroshot $(MNV2_TFJS) $(TRAIN_EVALS)
	for m in $(TRAIN_EVALS); do echo mnv2 $$m; $(GO) run ./tools/toonid eval -manifest $$m -model $(MNV2_RUN)/toonid.tmdl -json || exit 1; done

# The PCA-started linear head on the unchanged trunk (MODEL_CARD.md, "A head alone"): the views
# as train-mnv2 makes them, then pca_head.py (about 2 min), int8 with float32 depthwise and head.
MNV2_HEAD := $(TRAIN_DIR)/runs/mnv2head
train-mnv2-head: train-data $(MNV2_TFJS)/model.json ## the PCA-started head on the fixed trunk (measured, not shipped), int8, scored
	$(MNV2_VIEWS)
	mkdir -p $(MNV2_HEAD)
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/pca_head.py --tfjs $(MNV2_TFJS) --views $(TRAIN_DATA)/views_holdout.npy --data $(TRAIN_SOURCES) \
		--holdout-styles $(TRAIN_HOLDOUT) --eval $(TRAIN_EVALS) --out $(MNV2_HEAD)/toonid.onnx
	$(SIMD) $(GO) run ./tools/toonid quantize $(TRAIN_QUANT) -f32-depthwise -f32-dense -min-cos 0.98 -o $(MNV2_HEAD)/toonid.tmdl $(MNV2_HEAD)/toonid.onnx
	for m in $(TRAIN_EVALS); do echo mnv2head $$m; $(GO) run ./tools/toonid eval -manifest $$m -model $(MNV2_HEAD)/toonid.tmdl -json || exit 1; done

# Ablations (MODEL_CARD.md), each a pair run at once, one thread each, same seed and batches:
# the preservation terms on/off (same views), and the starting point: ImageNet vs random init,
# every layer trained on the fly (no frozen prefix, no views) for the same wall-clock budget.
TRAIN_ABL_MINUTES ?= 20
train-ablation: train-data $(MNV2_TFJS)/model.json ## the paired ablations of MODEL_CARD.md (preservation terms; ImageNet vs random init)
	$(MNV2_VIEWS)
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py $(TRAIN_TAIL) $(TRAIN_KEEP) --out $(TRAIN_DIR)/runs/ab_keep --minutes $(TRAIN_ABL_MINUTES) --threads 1 --resume & \
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py $(TRAIN_TAIL) --out $(TRAIN_DIR)/runs/ab_nokeep --minutes $(TRAIN_ABL_MINUTES) --threads 1 --resume & \
	wait
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py $(TRAIN_COMMON) --train-bn --out $(TRAIN_DIR)/runs/ab_imagenet --minutes $(TRAIN_ABL_MINUTES) --threads 1 --sizes 96,112 --resume & \
	nice -n 5 $(PYTHON) $(TRAIN_DIR)/train.py $(TRAIN_COMMON) --tfjs "" --train-bn --out $(TRAIN_DIR)/runs/ab_scratch --minutes $(TRAIN_ABL_MINUTES) --threads 1 --sizes 96,112 --resume & \
	wait
	for r in ab_keep ab_nokeep ab_imagenet ab_scratch; do $(PYTHON) $(TRAIN_DIR)/evaluate.py --run $(TRAIN_DIR)/runs/$$r $(TRAIN_EVALS) || exit 1; done
	$(PYTHON) $(TRAIN_DIR)/evaluate.py --zeroshot $(MNV2_TFJS) $(TRAIN_EVALS)

# Float scores (PyTorch, mirror-averaged as shipped) and int8 scores (toonid eval) on every eval
# manifest: the validation twin (held-out styles never trained on) and the shipped model.
train-eval: ## score the trained runs on every eval manifest, float and int8
	$(PYTHON) $(TRAIN_DIR)/evaluate.py --mirror --run $(TRAIN_VAL) $(wildcard $(TRAIN_DATA)/eval/*.tsv)
	$(PYTHON) $(TRAIN_DIR)/evaluate.py --mirror --run $(TRAIN_RUN) $(wildcard $(TRAIN_DATA)/eval/*.tsv)
	for m in $(wildcard $(TRAIN_DATA)/eval/*.tsv); do echo val $$m; $(GO) run ./tools/toonid eval -manifest $$m -model $(TRAIN_VAL)/toonid.tmdl -json || exit 1; done
	for m in $(wildcard $(TRAIN_DATA)/eval/*.tsv); do echo shipped $$m; $(GO) run ./tools/toonid eval -manifest $$m -model model/shipped/toonid.tmdl -json || exit 1; done

# Smoke: DiceBear + procedural only (no shared art), 4 steps, into build/.
SMOKE := $(BUILD)/train-smoke
train-smoke: | node_modules ## tiny end-to-end training check (< 1 min, no shared art)
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)/db $(SMOKE)/pg
	node $(TRAIN_DIR)/dicebear_gen.mjs --out $(SMOKE)/db --first 0 --count 6 --variants 2 --styles adventurer,micah,lorelei
	$(PYTHON) $(TRAIN_DIR)/procgen.py --out $(SMOKE)/pg --first 0 --count 6 --variants 2 --renderers flat,ink
	$(PYTHON) $(TRAIN_DIR)/train.py --data $(SMOKE)/db,$(SMOKE)/pg --out $(SMOKE)/run --max-steps 4 --p 4 --k 2
	$(PYTHON) -c "import onnx,sys; sys.path.insert(0,'$(TRAIN_DIR)'); import train; g=onnx.load('$(SMOKE)/run/toonid.onnx').graph; \
		ops={n.op_type for n in g.node}; print('ops', sorted(ops)); assert ops <= train.ALLOWED_OPS, ops; \
		assert [d.dim_value for d in g.output[0].type.tensor_type.shape.dim] == [1, 128]; print('train-smoke: ok')"

test-train: | node_modules ## unit tests of the training recipe and the nsfwjs converter
	cd $(TRAIN_DIR) && $(PYTHON) -m unittest -q test_train test_whiten test_mnv2 test_dual test_detect

TEST_TARGETS += test-train
