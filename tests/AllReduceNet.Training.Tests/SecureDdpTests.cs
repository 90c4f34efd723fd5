using AllReduceNet.Collectives;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>ddp --secure: gradients summed by the masked AllReduce train the same model as the plain sum, to within the quantization error.</summary>
public class SecureDdpTests
{
    /// <summary>
    /// The masked sum differs from the float sum by at most ranks / 2^(f+1) per gradient element (f = 28 for clip 1 on
    /// 2 to 4 ranks: under 1e-8), far below the float rounding that already separates N-rank ddp from one rank, so
    /// the same tolerance as the plain equivalence tests holds.
    /// </summary>
    private const float Tolerance = 2e-4f;

    [Theory]
    [InlineData(2, AllReduceAlgorithm.Auto, true, null)]
    [InlineData(3, AllReduceAlgorithm.Ring, false, null)]
    [InlineData(4, AllReduceAlgorithm.Tree, true, null)]
    [InlineData(5, AllReduceAlgorithm.Auto, true, 1)]
    public void SecureDdp_EqualsPlainDdp_WithinTheQuantizationError(int ranks, AllReduceAlgorithm algorithm, bool overlap, int? neighbours)
    {
        var plain = Harness.Settings(StrategyKind.Ddp, ranks) with { Algorithm = algorithm, Overlap = overlap };
        var reference = Harness.Train(plain);
        var secure = Harness.Train(plain with { Secure = true, SecureClip = 1f, SecureNeighbours = neighbours });
        Assert.True(Harness.Movement(plain, secure.Parameters) > 1e-2f, "the secure run did not train");
        Assert.NotEqual(reference.Parameters, secure.Parameters); // quantization changes the last bits: the masked path really ran
        Harness.AssertClose(reference.Parameters, secure.Parameters, Tolerance, $"ddp --secure on {ranks} ranks vs plain ddp");
        Harness.AssertClose(reference.OptimizerSlots[0], secure.OptimizerSlots[0], Tolerance, "momentum");
    }

    [Fact]
    public void SecureDdp_DescribesItsFormat()
    {
        var output = new StringWriter();
        var settings = Harness.Settings(StrategyKind.Ddp, 3) with { Secure = true, SecureClip = 0.5f, Quiet = false };
        Harness.Train(settings, output: output);
        Assert.Contains("secure: masked AllReduce, gradients clipped to [-0.5, 0.5], 30 fractional bits", output.ToString());
        Assert.Contains("masks with all peers (no single rank learns anything beyond the sum)", output.ToString());
    }

    /// <summary>The run's description says which coalitions the masks hold out against (MaskedAllReduce.LargestSafeCoalition).</summary>
    [Theory]
    [InlineData(2, null, "(on 2 ranks the sum itself gives each rank the other's gradient)")]
    [InlineData(5, null, "masks with all peers (coalitions of up to 3 ranks learn nothing beyond the sum)")]
    [InlineData(6, 1, "masks with 2 peers (no single rank learns anything beyond the sum)")]
    public void SecureDdp_NamesTheCoalitionsItResists(int ranks, int? neighbours, string expected)
    {
        var output = new StringWriter();
        var settings = Harness.Settings(StrategyKind.Ddp, ranks) with { Secure = true, SecureClip = 1f, SecureNeighbours = neighbours, Quiet = false, Epochs = 1 };
        Harness.Train(settings, output: output);
        Assert.Contains(expected, output.ToString());
    }

    [Theory]
    [InlineData("--strategy zero --ranks 2 --secure", "--secure applies to --strategy ddp only")]
    [InlineData("--ranks 2 --secure --secure-clip 0", "--secure-clip must be finite and positive")]
    [InlineData("--ranks 4 --secure --secure-clip 1e9", "cannot be summed over 4 ranks in 32 bits")]
    [InlineData("--ranks 4 --secure --secure-neighbours 0", "--secure-neighbours must be at least 1")]
    [InlineData("--ranks 4 --secure-neighbours 1", "--secure-neighbours applies with --secure only")]
    public void BadSecureOptions_AreRefused(string args, string expected)
    {
        RefusedArguments.AssertRefused($"{args} --synthetic 400", expected);
    }
}
