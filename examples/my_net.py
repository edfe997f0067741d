"""The models of docs/audit.md: a discarded conv, a forward that returns None, a model that exits."""

import torch
from pytorchcv.models.mobilenet import mobilenet_w1


class Probe(torch.nn.Module):
    """pytorchcv's MobileNet with a debugging conv left in: it runs, its output is never used."""

    def __init__(self):
        super().__init__()
        self.net = mobilenet_w1()
        self.probe = torch.nn.Conv2d(32, 32, 3, padding=1, bias=False)

    def forward(self, x):
        stem = self.net.features[0](x)
        self.probe(stem)
        return self.net.output(self.net.features[1:](stem).flatten(1))


class Stores(torch.nn.Module):
    """Keeps its logits on itself and returns None."""

    def __init__(self):
        super().__init__()
        self.net = mobilenet_w1()

    def forward(self, x):
        self.logits = self.net(x)


class Quits(Stores):
    def forward(self, x):
        print("debug: quitting early")
        raise SystemExit(0)
