"""The DARTS-space operations (spec §4.1) in PyTorch, shared by the supernet and the
retraining-network references: pools, skip / FactorizedReduce, separable and dilated convs.

Written for betadarts from its spec; not copied from any repository.
"""

PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
              "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]


def ops(torch):
    nn, F = torch.nn, torch.nn.functional

    class ReLUConvBN(nn.Module):
        def __init__(self, c_in, c_out, k, stride, pad, affine):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, k, stride, pad, bias=False)
            self.bn = nn.BatchNorm2d(c_out, affine=affine)

        def forward(self, x):
            return self.bn(self.conv(F.relu(x)))

    class DilConv(nn.Module):
        """ReLU → depthwise k×k (dilation d) → pointwise 1×1 → BN."""

        def __init__(self, c_in, c_out, k, stride, pad, dilation, affine):
            super().__init__()
            self.depthwise = nn.Conv2d(c_in, c_in, k, stride, pad, dilation, groups=c_in, bias=False)
            self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
            self.bn = nn.BatchNorm2d(c_out, affine=affine)

        def forward(self, x):
            return self.bn(self.pointwise(self.depthwise(F.relu(x))))

    class SepConv(nn.Module):
        """The DilConv block twice at dilation 1; only the first carries the stride."""

        def __init__(self, c_in, c_out, k, stride, pad, affine):
            super().__init__()
            self.first = DilConv(c_in, c_in, k, stride, pad, 1, affine)
            self.second = DilConv(c_in, c_out, k, 1, pad, 1, affine)

        def forward(self, x):
            return self.second(self.first(x))

    class FactorizedReduce(nn.Module):
        def __init__(self, c_in, c_out, affine):
            super().__init__()
            self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
            self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
            self.bn = nn.BatchNorm2d(c_out, affine=affine)

        def forward(self, x):
            x = F.relu(x)
            return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))

    class Zero(nn.Module):
        def __init__(self, stride):
            super().__init__()
            self.stride = stride

        def forward(self, x):
            return x[:, :, ::self.stride, ::self.stride].mul(0.0)

    class Identity(nn.Module):
        def forward(self, x):
            return x

    def make(name, c, stride, affine):
        if name == "none":
            return Zero(stride)
        if name == "max_pool_3x3":
            return nn.MaxPool2d(3, stride, 1)
        if name == "avg_pool_3x3":
            return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        if name == "skip_connect":
            return Identity() if stride == 1 else FactorizedReduce(c, c, affine)
        k = 3 if name.endswith("3x3") else 5
        if name.startswith("sep_conv"):
            return SepConv(c, c, k, stride, k // 2, affine)
        return DilConv(c, c, k, stride, 2 if k == 3 else 4, 2, affine)

    return make, ReLUConvBN, FactorizedReduce, Identity
