using System.Security.Cryptography;
using AllReduceNet.Privacy;
using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>Role sortition and the fixed-point Shamir sum, on their own.</summary>
public sealed class LedgerPiecesTests
{
    [Fact]
    public void Roles_are_a_pure_function_of_the_previous_hash_and_the_stakes()
    {
        var hash = SHA256.HashData("block"u8);
        long[] stakes = [10, 10, 10, 10, 10, 10, 10, 10];
        var roles = RoleSortition.Draw(hash, stakes, 2, 3, 3);
        Assert.True(roles.SameAs(RoleSortition.Draw(hash, stakes, 2, 3, 3)));
        foreach (var role in new[] { roles.Noisers, roles.Verifiers, roles.Aggregators })
        {
            Assert.Equal(role.Distinct().Order(), role);
            Assert.All(role, p => Assert.InRange(p, 0, 7));
        }
        Assert.Equal([2, 3, 3], new[] { roles.Noisers.Length, roles.Verifiers.Length, roles.Aggregators.Length });
        // Another previous hash gives other roles (over 20 hashes, at least one differs).
        Assert.Contains(Enumerable.Range(0, 20), i => !RoleSortition.Draw(SHA256.HashData(BitConverter.GetBytes(i)), stakes, 2, 3, 3).SameAs(roles));
    }

    [Fact]
    public void Stake_weights_the_draw()
    {
        long[] stakes = [1, 1, 1, 1, 1, 1, 1, 93];
        int rich = 0, poor = 0;
        for (int i = 0; i < 400; i++)
        {
            var verifiers = RoleSortition.Draw(SHA256.HashData(BitConverter.GetBytes(i)), stakes, 0, 1, 1).Verifiers;
            if (verifiers[0] == 7) rich++; else if (verifiers[0] == 0) poor++;
        }
        // Expected: 93% for the rich peer, 1% for peer 0.
        Assert.InRange(rich, 340, 395);
        Assert.InRange(poor, 0, 15);
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(5, 3)]
    [InlineData(1, 1)]
    public void The_sum_of_summed_shares_is_the_exact_sum_of_the_fixed_point_updates(int aggregators, int threshold)
    {
        var random = new Random(5);
        var updates = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 33).Select(_ => (float)(random.NextDouble() * 200 - 100)).ToArray()).ToArray();
        var sums = Enumerable.Range(0, aggregators).Select(_ => new ulong[33]).ToArray();
        foreach (var update in updates)
        {
            var shares = UpdateShares.Split(UpdateShares.Encode(update), threshold, aggregators);
            for (int a = 0; a < aggregators; a++) UpdateShares.AddInto(sums[a], shares[a].Values);
        }
        // Any t of the aggregators will do; here the last t.
        var chosen = Enumerable.Range(aggregators - threshold, threshold).Select(a => new AllReduceNet.Privacy.SecretSharing.ShamirShare(a + 1, sums[a])).ToArray();
        var sum = UpdateShares.Reconstruct(chosen, threshold, 33, updates.Length);
        double scale = Math.ScaleB(1.0, UpdateShares.FractionalBits);
        for (int i = 0; i < 33; i++)
        {
            double expected = updates.Sum(u => Math.Round(u[i] * scale, MidpointRounding.ToEven)) / scale;
            Assert.Equal(expected, sum[i]);
        }
        if (threshold > 1)
            Assert.Throws<PrivacyException>(() => UpdateShares.Reconstruct(chosen[1..], threshold, 33, updates.Length));
    }
}
