using AllReduceNet.Kernels;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Privacy.Tests;

public class SecureAggregationProtocolTests
{
    [Theory]
    [InlineData(2, 2, 1)]
    [InlineData(3, 2, 5)]
    [InlineData(10, 6, 1001)]
    [InlineData(17, 9, 70000)]
    public void WithoutDropoutsTheSumIsThePlainSumExactly(int clients, int threshold, int length)
    {
        using var f = new ProtocolFixture(clients, threshold, length);
        f.AssertExactSum(f.Run(), f.Ids);
    }

    [Theory]
    [InlineData(SecAggStage.AdvertiseKeys)]
    [InlineData(SecAggStage.ShareKeys)]
    [InlineData(SecAggStage.MaskedInput)]
    [InlineData(SecAggStage.Unmasking)]
    public void DropoutsAtEachStageLeaveTheExactSumOfSurvivors(SecAggStage stage)
    {
        using var f = new ProtocolFixture(10, 6, 333);
        int[] dropped = [f.Ids[2], f.Ids[5], f.Ids[9]];
        var report = f.Run(DropoutPlan.At(stage, dropped));
        // Clients that drop at unmasking already sent their masked inputs: they are in the sum.
        f.AssertExactSum(report, stage == SecAggStage.Unmasking ? f.Ids : f.Ids.Except(dropped));
    }

    [Fact]
    public void DropoutsAtEveryStageInOneRound()
    {
        using var f = new ProtocolFixture(12, 7, 257);
        var plan = DropoutPlan.At(SecAggStage.AdvertiseKeys, f.Ids[0])
            .And(DropoutPlan.At(SecAggStage.ShareKeys, f.Ids[1]))
            .And(DropoutPlan.At(SecAggStage.MaskedInput, f.Ids[2], f.Ids[3]))
            .And(DropoutPlan.At(SecAggStage.Unmasking, f.Ids[4]));
        var report = f.Run(plan);
        f.AssertExactSum(report, f.Ids.Except([f.Ids[0], f.Ids[1], f.Ids[2], f.Ids[3]]));
        Assert.Equal([11, 10, 8, 7], report.SurvivorsByStage);
    }

    [Theory]
    [InlineData(SecAggStage.AdvertiseKeys)]
    [InlineData(SecAggStage.ShareKeys)]
    [InlineData(SecAggStage.MaskedInput)]
    [InlineData(SecAggStage.Unmasking)]
    public void BelowThresholdAtAnyStageAbortsWithAMessageAndNoSum(SecAggStage stage)
    {
        using var f = new ProtocolFixture(8, 5, 64);
        var report = f.Run(DropoutPlan.At(stage, f.Ids[..4]));
        Assert.False(report.Succeeded);
        Assert.Null(report.Result);
        Assert.Equal(stage, report.Abort!.Stage);
        Assert.Contains("fewer than the threshold 5", report.Abort.Message);
        Assert.Contains($"aborted at {stage}", report.Abort.Message);
    }

    [Fact]
    public void AnAbortedRoundDoesNotStopTheNextRound()
    {
        using var f = new ProtocolFixture(6, 4, 40);
        Assert.False(f.Run(DropoutPlan.At(SecAggStage.MaskedInput, f.Ids[..3]), round: 0).Succeeded);
        f.AssertExactSum(f.Run(round: 1), f.Ids);
    }

    [Fact]
    public void RandomDropoutsOverManyRoundsAlwaysGiveTheSurvivorsSumOrAClearAbort()
    {
        using var f = new ProtocolFixture(12, 7, 99);
        int succeeded = 0, aborted = 0;
        for (int round = 0; round < 12; round++)
        {
            var report = f.Run(DropoutPlan.Random(0.1, seed: round), round);
            if (report.Succeeded)
            {
                f.AssertExactSum(report, report.Result!.Survivors);
                // Survivors are exactly those not dropped before masked input.
                var plan = DropoutPlan.Random(0.1, seed: round);
                var expected = f.Ids.Where(id => !plan.Drops(SecAggStage.AdvertiseKeys, id) && !plan.Drops(SecAggStage.ShareKeys, id) && !plan.Drops(SecAggStage.MaskedInput, id));
                Assert.Equal(expected.ToArray(), report.Result.Survivors);
                succeeded++;
            }
            else
            {
                Assert.Contains("fewer than the threshold", report.Abort!.Message);
                aborted++;
            }
        }
        Assert.True(succeeded > 0);
    }

    [Fact]
    public void TheDequantizedSumIsWithinTheQuantizationErrorOfTheClippedFloatSum()
    {
        using var f = new ProtocolFixture(9, 5, 500, clip: 0.5f);
        var report = f.Run(DropoutPlan.At(SecAggStage.MaskedInput, f.Ids[4]));
        Assert.True(report.Succeeded, report.Abort?.Message);
        var sum = report.Result!.Dequantize();
        var survivors = report.Result.Survivors.Select(id => Array.FindIndex(f.Clients, c => c.Id == id)).ToArray();
        double bound = f.Settings.Format.SumErrorBound(survivors.Length);
        for (int k = 0; k < sum.Length; k++)
        {
            double exact = survivors.Sum(i => (double)Math.Clamp(f.Floats[i][k], -0.5f, 0.5f));
            Assert.True(Math.Abs(sum[k] - exact) <= bound + Math.Abs(exact) * 6e-8 + 1e-9, $"element {k}: {sum[k]} vs {exact}, bound {bound}");
        }
    }

    [Theory]
    [InlineData(SecAggStage.AdvertiseKeys)]
    [InlineData(SecAggStage.ShareKeys)]
    [InlineData(SecAggStage.MaskedInput)]
    [InlineData(SecAggStage.Unmasking)]
    public void SecAggPlusWithDropoutsAtEachStage(SecAggStage stage)
    {
        using var f = new ProtocolFixture(30, 4, 200, neighbors: 6);
        int[] dropped = [f.Ids[3], f.Ids[17]];
        var report = f.Run(DropoutPlan.At(stage, dropped), graphSeed: 99);
        f.AssertExactSum(report, stage == SecAggStage.Unmasking ? f.Ids : f.Ids.Except(dropped));
        // Each client exchanged shares with k neighbours only: a share-keys message carries 6 ciphertexts, not 29.
        Assert.True(report.ClientBytesSent[(int)SecAggStage.ShareKeys] < 30L * 8 * 200);
    }

    [Fact]
    public void SecAggPlusWithRandomDropouts()
    {
        using var f = new ProtocolFixture(40, 5, 128, neighbors: 8);
        int succeeded = 0;
        for (int round = 0; round < 5; round++)
        {
            var report = f.Run(DropoutPlan.Random(0.05, seed: 100 + round), round, graphSeed: (ulong)round);
            if (!report.Succeeded)
            {
                Assert.Contains("fewer than the threshold", report.Abort!.Message);
                continue;
            }
            f.AssertExactSum(report, report.Result!.Survivors);
            succeeded++;
        }
        Assert.True(succeeded > 0);
    }

    [Fact]
    public void SecAggPlusAbortsWhenANeighbourhoodCannotReconstruct()
    {
        // k = 4, t = 3: a client whose 4 neighbours all drop before unmasking has 1 share holder left (itself).
        using var f = new ProtocolFixture(12, 3, 16, neighbors: 4);
        // The graph is public: anyone builds it from the seed and the sorted ids of the clients that advertised.
        var neighbours = NeighbourGraph.Build(f.Ids.Order().ToArray(), 4, 5).Of(f.Ids[0]);
        Assert.Equal(4, neighbours.Length);
        var report = f.Run(DropoutPlan.At(SecAggStage.Unmasking, neighbours), round: 1, graphSeed: 5);
        Assert.False(report.Succeeded);
        Assert.Contains($"client {f.Ids[0]}'s self-mask seed arrived, fewer than the threshold 3", report.Abort!.Message);
    }

    [Fact]
    public void SignedKeysUnderAPkiAggregateAndAWrongSignatureIsRefused()
    {
        var signing = Enumerable.Range(0, 6).Select(_ => System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256)).ToArray();
        var pki = Enumerable.Range(0, 6).ToDictionary(i => i, i => signing[i].ExportSubjectPublicKeyInfo());
        var settings = new SecureAggregationSettings(50, 4, FixedPointFormat.ForClients(1f, 6), verificationKeys: pki);
        // Client 2 signs with client 3's key: its advertisement must be refused by name.
        var clients = Enumerable.Range(0, 6).Select(i => new SecAggClient(i, settings, signing[i == 2 ? 3 : i])).ToArray();
        var inputs = clients.Select(c => Enumerable.Range(0, 50).Select(k => (uint)(c.Id * 100 + k)).ToArray()).ToArray();
        var report = InMemorySecureAggregation.RunRound(settings, clients, inputs, 0, 1);
        Assert.True(report.Succeeded, report.Abort?.Message);
        Assert.Contains("client 2", report.Refusals[2]);
        Assert.Contains("signature", report.Refusals[2]);
        Assert.Equal([0, 1, 3, 4, 5], report.Result!.Survivors);
        var expected = Enumerable.Range(0, 50).Select(k => (uint)new[] { 0, 1, 3, 4, 5 }.Sum(id => id * 100 + k)).ToArray();
        Assert.Equal(expected, report.Result.Sum);
        Assert.Throws<ArgumentException>(() => new SecAggClient(0, settings));
    }

    [Fact]
    public void SettingsThatCouldOverflowTheModulusAreRefused()
    {
        var format = new FixedPointFormat(20, 1f, 4);
        var settings = new SecureAggregationSettings(10, 4, format);
        var clients = Enumerable.Range(0, 6).Select(i => new SecAggClient(i, settings)).ToArray();
        var error = Assert.Throws<PrivacyException>(() => InMemorySecureAggregation.RunRound(settings, clients, clients.Select(_ => new uint[10]).ToArray(), 0, 0));
        Assert.Contains("overflow the modulus 2^32", error.Message);
        // FixedPointFormat itself refuses a clip range and bits that overflow for its MaxClients.
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedPointFormat(24, 200f, 100));
    }

    [Fact]
    public void AnInputBeyondTheQuantizedRangeIsRefusedByItsClient()
    {
        using var f = new ProtocolFixture(5, 3, 8);
        f.Inputs[1][6] = f.Settings.QuantizedBound + 1;
        var report = f.Run();
        Assert.Contains("input element 6", report.Refusals[f.Ids[1]]);
        Assert.Contains($"client {f.Ids[1]}", report.Refusals[f.Ids[1]]);
        f.AssertExactSum(report, f.Ids.Except([f.Ids[1]]));
    }

    [Theory]
    [InlineData(10, 5, null)]
    [InlineData(10, 11, null)]
    [InlineData(30, 3, 6)]
    public void ThresholdsThatAreUnsafeOrUnreachableAreRefused(int clients, int threshold, int? neighbors)
    {
        var format = FixedPointFormat.ForClients(1f, 64);
        Exception error = neighbors is null
            ? Assert.Throws<PrivacyException>(() => new SecureAggregationSettings(4, threshold, format).CheckRound(clients))
            : Assert.Throws<ArgumentOutOfRangeException>(() => new SecureAggregationSettings(4, threshold, format, neighbors));
        Assert.Contains("threshold", error.Message);
    }
}
