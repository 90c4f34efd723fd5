using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Privacy.Tests;

/// <summary>
/// What the server sees of one client is its masked input y = x + PRG(b) + pairwise masks mod 2^32. Because PRG(b) is
/// (pseudo)uniform and b is fresh every round, y is uniform whatever x is. Checked empirically: over many rounds with
/// fresh keys, the distribution of a client's masked words must not depend on its input.
/// </summary>
public class ServerViewTests
{
    // Chi-square critical value for 15 degrees of freedom at p = 1e-5 (Wilson-Hilferty): a sound test fails by chance
    // about once in 100,000 runs per statistic.
    private const double Critical15 = 51.0;
    private const int Bins = 16;

    [Fact]
    public void ChangingOneClientsInputDoesNotChangeTheDistributionOfWhatTheServerSees()
    {
        const int rounds = 250, length = 8;
        var zeros = SeenByServer(rounds, length, _ => 0u);
        var extremes = SeenByServer(rounds, length, settings => settings.QuantizedBound);

        // Each is uniform over the top 4 bits, and the two are indistinguishable (two-sample homogeneity).
        Assert.True(ChiSquareUniform(zeros) < Critical15, $"masked zeros not uniform: {ChiSquareUniform(zeros)}");
        Assert.True(ChiSquareUniform(extremes) < Critical15, $"masked extremes not uniform: {ChiSquareUniform(extremes)}");
        Assert.True(ChiSquareHomogeneity(zeros, extremes) < Critical15, $"distributions differ: {ChiSquareHomogeneity(zeros, extremes)}");

        // The same statistic has the power to see a difference: on the plain inputs it is enormous.
        var plainZeros = Enumerable.Repeat(0u, zeros.Count).ToList();
        var plainExtremes = Enumerable.Repeat(0x8000_0000u, zeros.Count).ToList();
        Assert.True(ChiSquareHomogeneity(plainZeros, plainExtremes) > 10 * Critical15);
    }

    [Fact]
    public void ASingleClientsMaskedInputIsNotItsInput()
    {
        // Even a client with no surviving neighbour-pair masks is hidden by its self-mask.
        var seen = SeenByServer(3, 4, _ => 5u, clients: 2, threshold: 2);
        Assert.DoesNotContain(5u, seen);
    }

    /// <summary>Words of client 0's masked input over <paramref name="rounds"/> rounds of fresh keys.</summary>
    private static List<uint> SeenByServer(int rounds, int length, Func<SecureAggregationSettings, uint> value, int clients = 3, int threshold = 2)
    {
        using var f = new ProtocolFixture(clients, threshold, length);
        for (int k = 0; k < length; k++) f.Inputs[0][k] = value(f.Settings);
        var seen = new List<uint>();
        for (int round = 0; round < rounds; round++)
        {
            var report = f.Run(round: round, filter: (stage, id, message) =>
            {
                if (stage == SecAggStage.MaskedInput && id == f.Ids[0])
                    for (int k = 0; k < length; k++) seen.Add(BitConverter.ToUInt32(message, 12 + 4 * k));
                return message;
            });
            Assert.True(report.Succeeded, report.Abort?.Message);
        }
        return seen;
    }

    private static double ChiSquareUniform(List<uint> words)
    {
        var counts = Histogram(words);
        double expected = words.Count / (double)Bins;
        return counts.Sum(c => (c - expected) * (c - expected) / expected);
    }

    private static double ChiSquareHomogeneity(List<uint> a, List<uint> b)
    {
        var ca = Histogram(a);
        var cb = Histogram(b);
        double na = a.Count, nb = b.Count, chi = 0;
        for (int i = 0; i < Bins; i++)
        {
            double total = ca[i] + cb[i];
            if (total == 0) continue;
            double ea = total * na / (na + nb), eb = total * nb / (na + nb);
            chi += (ca[i] - ea) * (ca[i] - ea) / ea + (cb[i] - eb) * (cb[i] - eb) / eb;
        }
        return chi;
    }

    private static int[] Histogram(List<uint> words)
    {
        var counts = new int[Bins];
        foreach (uint w in words) counts[w >> 28]++;
        return counts;
    }
}
