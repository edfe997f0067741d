"""timm is installed as the README says and builds its MobileNets beside the CPU torch."""

from conftest import import_timm


def test_timm_builds_mobilenetv3_large_with_torchvisions_documented_params():
    timm = import_timm()
    model = timm.create_model("mobilenetv3_large_100", pretrained=False)
    # torchvision's documented parameter count for mobilenet_v3_large (an independent build).
    assert sum(p.numel() for p in model.parameters()) == 5_483_032
