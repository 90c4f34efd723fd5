using AllReduceNet.Kernels;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Privacy.Tests;

/// <summary>Builds clients, inputs and the plain reference sum for the protocol tests.</summary>
internal sealed class ProtocolFixture : IDisposable
{
    public ProtocolFixture(int clients, int threshold, int vectorLength, int? neighbors = null, int seed = 1, float clip = 1f)
    {
        Settings = new SecureAggregationSettings(vectorLength, threshold, FixedPointFormat.ForClients(clip, Math.Max(clients, 2)), neighbors);
        var random = new Random(seed);
        Clients = Enumerable.Range(0, clients).Select(i => new SecAggClient(3 * i + 1, Settings)).ToArray();
        Floats = Clients.Select(_ => Enumerable.Range(0, vectorLength).Select(_ => (float)(random.NextDouble() * 2.4 - 1.2) * clip).ToArray()).ToArray();
        Inputs = Floats.Select(f => SecAggClient.Quantize(f, Settings.Format)).ToArray();
    }

    public SecureAggregationSettings Settings { get; }
    public SecAggClient[] Clients { get; }
    public float[][] Floats { get; }
    public uint[][] Inputs { get; }

    public int[] Ids => Clients.Select(c => c.Id).ToArray();

    public SecureAggregationRoundReport Run(DropoutPlan? dropouts = null, int round = 0, ulong graphSeed = 42, Func<SecAggStage, int, byte[], byte[]>? filter = null) =>
        InMemorySecureAggregation.RunRound(Settings, Clients, Inputs, round, graphSeed, dropouts, filter);

    /// <summary>The plain wrapping sum of the named clients' quantized inputs.</summary>
    public uint[] PlainSum(IEnumerable<int> ids)
    {
        var sum = new uint[Settings.VectorLength];
        foreach (int id in ids)
        {
            var input = Inputs[Array.FindIndex(Clients, c => c.Id == id)];
            for (int k = 0; k < sum.Length; k++) sum[k] = unchecked(sum[k] + input[k]);
        }
        return sum;
    }

    public void AssertExactSum(SecureAggregationRoundReport report, IEnumerable<int> expectedSurvivors)
    {
        Assert.True(report.Succeeded, report.Abort?.Message);
        var expected = expectedSurvivors.OrderBy(i => i).ToArray();
        Assert.Equal(expected, report.Result!.Survivors);
        Assert.Equal(PlainSum(expected), report.Result.Sum);
    }

    public void Dispose()
    {
        foreach (var client in Clients) client.Dispose();
    }
}
