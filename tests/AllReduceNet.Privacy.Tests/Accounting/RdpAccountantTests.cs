using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class RdpAccountantTests
{
    [Fact]
    public void HeterogeneousCompositionAddsRdpPerOrder()
    {
        var accountant = new RdpAccountant();
        accountant.Compose(0.01, 1.1, 300);
        accountant.Compose(1, 5, 2);
        accountant.Compose(0.02, 0.9, 50);
        var first = SubsampledGaussianRdp.Compute(0.01, 1.1, accountant.Orders);
        var second = SubsampledGaussianRdp.Compute(1, 5, accountant.Orders);
        var third = SubsampledGaussianRdp.Compute(0.02, 0.9, accountant.Orders);
        var rdp = accountant.Rdp;
        for (int i = 0; i < rdp.Length; i++)
            Assert.Equal(300 * first[i] + 2 * second[i] + 50 * third[i], rdp[i], rdp[i] * 1e-12);
        Assert.Equal(352, accountant.TotalSteps);
    }

    [Fact]
    public void StepByStepEqualsAllAtOnce()
    {
        var stepwise = new RdpAccountant();
        for (int i = 0; i < 100; i++) stepwise.Compose(0.01, 1.1);
        var atOnce = new RdpAccountant();
        atOnce.Compose(0.01, 1.1, 100);
        Assert.Equal(atOnce.GetEpsilon(1e-5).Epsilon, stepwise.GetEpsilon(1e-5).Epsilon, 1e-12);
        Assert.Single(stepwise.History);
    }

    [Fact]
    public void StateRoundTripsThroughJsonForTheCheckpoint()
    {
        var accountant = new RdpAccountant();
        accountant.Compose(0.004266666666666667, 1.1, 234);
        accountant.Compose(0.1, 2.5, 7);
        string json = accountant.SaveState().ToJson();
        var restored = RdpAccountant.Restore(AccountantState.FromJson(json, "test.ckpt"));
        Assert.Equal(accountant.GetEpsilon(1e-5), restored.GetEpsilon(1e-5));
        Assert.Equal(accountant.History, restored.History);
        var error = Assert.Throws<PrivacyException>(() => AccountantState.FromJson("{\"orders\":[2", "test.ckpt"));
        Assert.Contains("test.ckpt", error.Message);
    }

    [Fact]
    public void NothingComposedIsZeroEpsilonAndNoNoiseIsInfinite()
    {
        Assert.Equal(0, new RdpAccountant().GetEpsilon(1e-5).Epsilon);
        var noNoise = new RdpAccountant();
        noNoise.Compose(0.01, 0, 1);
        Assert.Equal(double.PositiveInfinity, noNoise.GetEpsilon(1e-5).Epsilon);
    }

    [Fact]
    public void RefusesNegativeSteps()
    {
        var error = Assert.Throws<PrivacyException>(() => new RdpAccountant().Compose(0.01, 1, -3));
        Assert.Contains("steps", error.Message);
    }
}
