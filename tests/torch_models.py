"""The models of the project's "models that must work" list, written compactly in torch.

torchvision's wheels don't import beside this CPU build of torch, so resnet18 (BasicBlock, [2, 2, 2, 2])
and mobilenet_v2 (inverted residuals with ReLU6) are written here as torchvision defines them, with
their module paths (``layer1.0.conv1``, ``features.3.conv.1.0``). ``build(name)`` gives a model in eval
mode with random weights and batch-norm statistics (seeded), and an example input of batch 2.
Used by tests/test_models.py, benchmarks/models.py and examples/draw_resnet.py.
"""

import torch
from torch import nn


class MnistCNN(nn.Module):
    """Conv, BatchNorm, ReLU, MaxPool twice, then Flatten and Linear: 1x28x28 -> 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16 * 7 * 7, 10)
    def forward(self, x):
        return self.fc(self.flatten(self.features(x)))

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)

class ResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, cout in enumerate((64, 128, 256, 512)):
            blocks = [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout)]
            setattr(self, f"layer{i+1}", nn.Sequential(*blocks))
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

def conv_bn(cin, cout, k, s, groups=1):
    """torchvision's Conv2dNormActivation: conv, batch norm, ReLU6."""
    conv = nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = [conv_bn(cin, hidden, 1, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)

class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        # expansion t, channels c, repeats n, first stride s
        cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1)]
        layers = [conv_bn(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(conv_bn(cin, 1280, 1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))

class RNNClassifier(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = getattr(nn, cell)(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 5)
    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])

class ResidualMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(12, 32)
        self.block = nn.Sequential(nn.Linear(32, 32), nn.GELU(), nn.Linear(32, 32))
        self.norm = nn.LayerNorm(32)
        self.act = nn.ReLU()
        self.out = nn.Linear(32, 4)
    def forward(self, x):
        h = self.act(self.inp(x))
        for _ in range(3):   # the same block reused
            h = self.norm(h + self.block(h))
        return self.out(self.act(h))


class TransformerLayer(nn.Module):
    """``nn.TransformerEncoderLayer(d_model=32, nhead=4, batch_first=True)``, called with ``is_causal=False``.

    torch's TorchScript-based ONNX exporter (``dynamo=False``) fails on the bare layer (it turns
    its ``is_causal`` default into a tensor); calling it from a module sidesteps that.
    """

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, batch_first=True)

    def forward(self, x):
        return self.layer(x, is_causal=False)


def randomize_statistics(model, generator):
    """Batch-norm statistics and affine parameters away from their identity defaults, so that they count."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=generator) * 0.1)


#: name -> (constructor, example shape without the batch)
MODELS = {
    "mnist_cnn": (MnistCNN, (1, 28, 28)),
    "resnet18": (ResNet18, (3, 32, 32)),
    "mobilenet_v2": (MobileNetV2, (3, 32, 32)),
    "transformer_layer": (TransformerLayer, (5, 32)),
    "gru_classifier": (lambda: RNNClassifier("GRU"), (7, 8)),
    "lstm_classifier": (lambda: RNNClassifier("LSTM"), (7, 8)),
    "residual_mlp": (ResidualMLP, (12,)),
}


def build(name, seed=0, shape=None, batch=2):
    """``(model in eval mode, example input)``: random weights from ``seed``, the input ``(batch, *shape)``."""
    make, default = MODELS[name]
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = make()
    with torch.no_grad():
        randomize_statistics(model, generator)
    return model.eval(), torch.randn(batch, *(shape or default), generator=generator)
