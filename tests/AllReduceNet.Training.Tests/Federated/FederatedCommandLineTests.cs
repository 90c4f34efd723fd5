using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Bad federated options are refused with a clear message before any work starts.</summary>
public class FederatedCommandLineTests
{
    [Theory]
    [InlineData("--strategy fedavg --clients 10 --clients-per-round 20", "--clients-per-round 20 exceeds --clients 10")]
    [InlineData("--strategy fedavg --clients 0", "--clients must be at least 1")]
    [InlineData("--strategy fedavg --clients-per-round 0", "--clients-per-round must be at least 1")]
    [InlineData("--strategy fedavg --rounds 0", "--rounds must be at least 1")]
    [InlineData("--strategy fedavg --local-epochs 0", "--local-epochs must be at least 1")]
    [InlineData("--strategy fedavg --local-batch 0", "--local-batch must be at least 1")]
    [InlineData("--strategy fedavg --partition zipf", "--partition 'zipf' is unknown")]
    [InlineData("--strategy fedavg --partition dirichlet:0", "needs a positive concentration")]
    [InlineData("--strategy fedavg --dropout 1", "--dropout must be in [0, 1)")]
    [InlineData("--strategy fedavg --dropout -0.1", "--dropout must be in [0, 1)")]
    [InlineData("--strategy fedavg --mu 0.1", "--mu applies to --strategy fedprox only")]
    [InlineData("--strategy fedprox --mu 0", "--mu must be positive for fedprox")]
    [InlineData("--strategy fedavg --server-momentum 0.9", "--server-momentum applies to --strategy fedavgm only")]
    [InlineData("--strategy fedavgm --server-momentum 1", "--server-momentum must be in (0, 1)")]
    [InlineData("--strategy fedavg --server-lr 0", "--server-lr must be positive")]
    [InlineData("--strategy fedavg --optimizer adam", "--optimizer adam is not available to federated clients")]
    [InlineData("--strategy ddp --clients 10", "--clients applies to the federated strategies only")]
    [InlineData("--strategy zero --rounds 3", "--rounds applies to the federated strategies only")]
    [InlineData("--strategy ddp --dropout 0.1", "--dropout applies to the federated strategies only")]
    [InlineData("--strategy fedavg --clients 200 --synthetic 100 --layers 20,5 --batch-size 10", "--clients 200 exceeds the 100 training samples")]
    public void Bad_federated_arguments_give_a_clear_error_and_exit_code_2(string args, string expected)
        => RefusedArguments.AssertRefused(args, expected);
}
