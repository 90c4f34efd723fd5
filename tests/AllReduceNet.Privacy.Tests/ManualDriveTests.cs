using AllReduceNet.Kernels;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Privacy.Tests;

/// <summary>The protocol driven by hand, as a transport (Communicator, HTTP) would: bytes out, bytes in, per stage.</summary>
public class ManualDriveTests
{
    [Fact]
    public void FloatUpdatesWeightedBySampleCountsGiveTheWeightedAverageWithinTheErrorBound()
    {
        // FedAvg's use: each client sends n_k * update_k and n_k (scaled into the clip range), the server divides the sums.
        const int clients = 5, length = 33;
        const float sampleScale = 1f / 1000; // n_k <= 1000 samples, so n_k / 1000 stays in [0, 1]
        var format = FixedPointFormat.ForClients(1f, clients);
        var settings = new SecureAggregationSettings(length + 1, 3, format);
        var random = new Random(5);
        var counts = new[] { 120, 800, 45, 300, 999 };
        var updates = counts.Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
        var participants = Enumerable.Range(0, clients).Select(i => new SecAggClient(10 + i, settings)).ToArray();
        var server = new SecAggServer(settings, 3, participants.Select(c => c.Id).ToArray(), 0);

        foreach (var c in participants) server.Receive(c.Id, c.AdvertiseKeys(3));
        var broadcasts = server.CompleteAdvertiseKeys();
        foreach (var c in participants) server.Receive(c.Id, c.ShareKeys(broadcasts[c.Id]));
        var relays = server.CompleteShareKeys();
        for (int i = 0; i < clients; i++)
        {
            var weighted = updates[i].Select(u => u * counts[i] * sampleScale).Append(counts[i] * sampleScale).ToArray();
            server.Receive(participants[i].Id, participants[i].MaskedInput(relays[participants[i].Id], weighted));
        }
        var requests = server.CompleteMaskedInput();
        // One client drops at unmasking; its input is already in the sum.
        foreach (var c in participants.Skip(1)) server.Receive(c.Id, c.Unmask(requests[c.Id]));
        var sums = server.CompleteUnmasking().Dequantize();

        double totalWeight = sums[length];
        Assert.Equal(counts.Sum() * sampleScale, totalWeight, 1e-5);
        for (int k = 0; k < length; k++)
        {
            double exact = Enumerable.Range(0, clients).Sum(i => (double)updates[i][k] * counts[i]) / counts.Sum();
            // Bound: (error of the numerator + |average| * error of the denominator) / denominator.
            double bound = format.SumErrorBound(clients) * (1 + Math.Abs(exact)) / totalWeight + 1e-6;
            Assert.True(Math.Abs(sums[k] / totalWeight - exact) <= bound, $"element {k}: {sums[k] / totalWeight} vs {exact}");
        }
        foreach (var c in participants) c.Dispose();
    }
}
