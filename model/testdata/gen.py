#!/usr/bin/python3
"""Export the tiny test networks the model package tests run.

Run with Debian's torch 1.13 (/usr/bin/python3 gen.py) from this folder. It writes
  ops.onnx       every op the importer supports (opset 13; hardswish -> HardSigmoid*x)
  hswish.onnx    HardSwish as one op (opset 14)
  gorgonnx.onnx  only ops gorgonia's onnx-go backend runs (for the cross-check)
  mnv2.onnx      a small MobileNetV2-like net (gen.py mnv2 writes only it): Keras-style
                 bottom/right zero Pad before stride-2 convs, depthwise 3x3 s1/s2, ReLU6
                 both as Clip(0, 6) and as Relu then Clip(max 6), residual Add, GAP, MatMul
  branches.onnx  two branches from the one input, their L2-normalised embeddings
                 concatenated (gen.py branches writes only it, opset 9): Mul/Add by
                 scalars on the input, Sqrt, LpNormalization on vectors and per pixel,
                 Concat of two and of three feature maps and of two vectors
  badreshape.onnx  a Reshape to the wrong element count (gen.py extra), refused on import
  *.in.f32       fixed inputs (little-endian float32, CHW, batch of 1)
Reference outputs come from onnxruntime-node: node ort_ref.cjs (writes *.ort.f32).
Weights are random but fixed (seeded); BatchNorm gets random running stats so
folding is exercised. bench_net() is also used by ../bench to build a 96 px
network of realistic size when the shipped model is absent.
"""
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn


def randomize_bn(m, g):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            mod.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            mod.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
        if isinstance(mod, nn.PReLU):
            mod.weight.data.copy_(torch.rand(mod.weight.shape, generator=g) * 0.3)


class OpsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)  # pads made asymmetric below
        self.bn1 = nn.BatchNorm2d(8)
        self.prelu = nn.PReLU(8)
        self.dw = nn.Conv2d(8, 8, 3, stride=1, padding=1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1, bias=True)
        self.grp = nn.Conv2d(16, 16, 3, padding=1, groups=2)
        self.cbias = nn.Parameter(torch.randn(1, 16, 1, 1) * 0.2)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.dw2 = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16)
        self.conv5 = nn.Conv2d(16, 24, 3, padding=1)
        self.avg = nn.AvgPool2d(2, stride=2)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.prelu(self.bn1(self.stem(x)))            # 16x16
        x = torch.clamp(self.bn2(self.dw(x)), 0.0, 6.0)    # Clip (ReLU6)
        y = self.pw(x)
        y = nn.functional.hardswish(y)                     # HardSigmoid + Mul at opset 13
        z = torch.relu(self.grp(y)) + y                    # residual Add
        z = z + self.cbias                                 # per-channel broadcast Add
        z = z * 0.5                                        # Mul by a constant
        z = self.pool(z)                                   # 8x8
        z = torch.relu(self.dw2(z))                        # 4x4 depthwise stride 2
        z = torch.sigmoid(self.conv5(z)) * 2.0 if False else torch.relu(self.conv5(z))
        z = self.avg(z)                                    # 2x2
        z = nn.functional.adaptive_avg_pool2d(z, 1)        # GlobalAveragePool
        z = torch.flatten(z, 1)
        return self.fc(z)


class HSwishNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 6)

    def forward(self, x):
        x = nn.functional.hardswish(self.c(x))
        x = nn.functional.hardsigmoid(x) * x + x
        return self.fc(x.reshape(1, -1))


class GorgonnxNet(nn.Module):
    """Conv (symmetric pads, group 1), BN, Relu, MaxPool, same-shape Add, GAP, Flatten, MatMul."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2, 2)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 12, bias=False)  # MatMul: gorgonnx re-adds a Gemm bias on each Run

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.c1(x))))
        x = torch.relu(self.c2(x)) + x
        x = torch.relu(self.c3(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x if self.short is None else self.short(x)
        return torch.relu(y + s)


class BenchNet(nn.Module):
    """ResNet-like 96 px embedder of about the shipped model's size (36.4 MMAC), the same
    shape as benchGraph in ../bench_test.go: stem 3x3/2 to 16, basic blocks 16->32/2,
    32->64/2, 64->128/2, 128->128, GAP, 128-d linear."""

    def __init__(self, dim=128):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        layers, cin = [], 16
        for w, s in ((32, 2), (64, 2), (128, 2), (128, 1)):
            layers.append(Block(cin, w, s))
            cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, dim)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class InvRes(nn.Module):
    """MobileNetV2 inverted residual: 1x1 expand, 3x3 depthwise (stride 2: Keras pads
    bottom/right by one first), 1x1 project, residual Add when shapes match. relu_clip
    writes ReLU6 as Relu then clamp(max=6), as the Keras (nsfwjs) converted trunk does."""

    def __init__(self, cin, cout, stride, t, relu_clip=False):
        super().__init__()
        hid = cin * t
        self.expand = nn.Sequential(nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid))
        self.pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.Identity()
        self.dw = nn.Sequential(nn.Conv2d(hid, hid, 3, stride, 0 if stride == 2 else 1, groups=hid, bias=False),
                                nn.BatchNorm2d(hid))
        self.project = nn.Sequential(nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.res = stride == 1 and cin == cout
        self.relu_clip = relu_clip

    def act(self, x):
        return torch.clamp(torch.relu(x), max=6.0) if self.relu_clip else nn.functional.relu6(x)

    def forward(self, x):
        y = self.act(self.expand(x))
        y = self.act(self.dw(self.pad(y)))
        y = self.project(y)
        return x + y if self.res else y


class MNV2Net(nn.Module):
    """30 px input: stem 3x3/2 (pad bottom/right) to 15x15, blocks 16->16 (15x15), 16->24/2
    (7x7), 24->24 (7x7), 24->32/2 (3x3), 1x1 to 64, GAP, bias-free 64->16 linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 16, 3, 2, 0, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU6())
        self.blocks = nn.Sequential(InvRes(16, 16, 1, 3), InvRes(16, 24, 2, 3, relu_clip=True),
                                    InvRes(24, 24, 1, 3, relu_clip=True), InvRes(24, 32, 2, 4))
        self.head = nn.Sequential(nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU6())
        self.fc = nn.Linear(64, 16, bias=False)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class L2Norm(torch.autograd.Function):
    """F.normalize along the channels, exported as one ONNX LpNormalization (torch 1.13
    has no symbolic for normalize at opset 9)."""

    @staticmethod
    def forward(ctx, x):
        return torch.nn.functional.normalize(x, dim=1)

    @staticmethod
    def symbolic(g, x):
        return g.op("LpNormalization", x, axis_i=1, p_i=2)


class BranchNet(nn.Module):
    """16 px input. Branch A: x*0.5+0.5, bottom/right Pad, conv 3x3/2 + BN + ReLU6,
    conv 3x3/2 + ReLU6, GAP, Sqrt, Flatten, MatMul + Add, LpNormalization (12-d). Branch B
    reads the raw input: conv 3x3/2 + Relu (c1), conv 3x3 (c2), Concat(c1, c2, c1) (a
    three-input Concat with one input twice), LpNormalization per pixel, GAP, Flatten,
    LpNormalization, Mul 0.8 (22-d). Output: Concat axis 1 of the two vectors (34-d)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 8, 3, 2, 0), nn.BatchNorm2d(8), nn.ReLU6(),
                               nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU6())
        self.wa = nn.Parameter(torch.randn(16, 12) * 0.5)
        self.ba = nn.Parameter(torch.randn(12) * 0.1)
        self.b1 = nn.Conv2d(3, 8, 3, 2, 1)
        self.b2 = nn.Conv2d(8, 6, 3, 1, 1)

    def forward(self, x):
        a = self.a(x * 0.5 + 0.5)
        a = torch.sqrt(nn.functional.adaptive_avg_pool2d(a, 1))
        a = L2Norm.apply(torch.flatten(a, 1) @ self.wa + self.ba)
        c1 = torch.relu(self.b1(x))
        b = L2Norm.apply(torch.cat([c1, self.b2(c1), c1], 1))
        b = torch.flatten(nn.functional.adaptive_avg_pool2d(b, 1), 1)
        b = L2Norm.apply(b) * 0.8
        return torch.cat([a, b], 1)


def branches():
    g = torch.Generator().manual_seed(13)
    torch.manual_seed(13)
    x = export(BranchNet(), 16, "branches.onnx", 9, g)
    write_f32("branches.in.f32", x)


def mnv2():
    g = torch.Generator().manual_seed(11)
    torch.manual_seed(11)
    # Opset 9, as the student trunk is exported: Pad and Clip take attributes (torch 1.13
    # writes an opset-13 ZeroPad2d as a Pad whose pads a subgraph of Shape ops computes).
    x = export(MNV2Net(), 30, "mnv2.onnx", 9, g)
    write_f32("mnv2.in.f32", x)


def export(net, size, path, opset, g):
    randomize_bn(net, g)
    net.eval()
    x = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    torch.onnx.export(net, x, path, opset_version=opset, do_constant_folding=True,
                      input_names=["input"], output_names=["embedding"])
    return x


def write_f32(path, t):
    np.asarray(t, dtype="<f4").tofile(path)


def main():
    g = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        export(BenchNet(), 96, sys.argv[2], 13, g)
        return
    x = export(OpsNet(), 32, "ops.onnx", 13, g)
    # Make the stem's pads asymmetric (top/left 0, bottom/right 1): same output size,
    # so no shape information goes stale, and onnxruntime computes the reference.
    m = onnx.load("ops.onnx")
    for n in m.graph.node:
        if n.op_type == "Conv":
            for a in n.attribute:
                if a.name == "pads":
                    del a.ints[:]
                    a.ints.extend([0, 0, 1, 1])
            break
    onnx.checker.check_model(m)
    onnx.save(m, "ops.onnx")
    write_f32("ops.in.f32", x)
    x = export(HSwishNet(), 8, "hswish.onnx", 14, g)
    write_f32("hswish.in.f32", x)
    x = export(GorgonnxNet(), 16, "gorgonnx.onnx", 11, g)
    write_f32("gorgonnx.in.f32", x)
    extra()
    mnv2()
    branches()




def extra():
    """unsupported.onnx (a Sigmoid), int8init.onnx (an int8 initializer onnx-go refuses) and
    badreshape.onnx (a Reshape to the wrong size)."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])
    g = helper.make_graph([helper.make_node("Sigmoid", ["input"], ["y"])], "unsupported", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "unsupported.onnx")
    w = helper.make_tensor("w", TensorProto.INT8, [3, 3, 1, 1], [1] * 9)
    g = helper.make_graph([helper.make_node("Conv", ["input", "w"], ["y"])], "int8init", [x], [y], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "int8init.onnx")
    # 48 values reshaped as [1, 47]: onnxruntime would fail at run time; Import must refuse it.
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1, 47])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 47])
    g = helper.make_graph([helper.make_node("Reshape", ["input", "shape"], ["z"])], "badreshape", [x], [z], [shape])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "badreshape.onnx")


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "extra":
    extra()

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "mnv2":
    mnv2()

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "branches":
    branches()

# Last, so that main() finds extra() and mnv2() defined.
if __name__ == "__main__" and (len(sys.argv) == 1 or sys.argv[1] == "bench"):
    main()
