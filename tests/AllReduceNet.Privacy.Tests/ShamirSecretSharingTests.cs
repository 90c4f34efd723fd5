using System.Security.Cryptography;
using AllReduceNet.Privacy.SecretSharing;

namespace AllReduceNet.Privacy.Tests;

public class ShamirSecretSharingTests
{
    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(16, 3, 5)]
    [InlineData(32, 4, 7)]
    [InlineData(33, 5, 5)]
    public void EverySubsetOfAtLeastThresholdSharesReconstructs(int secretLength, int threshold, int shareCount)
    {
        var secret = RandomNumberGenerator.GetBytes(secretLength);
        var shares = ShamirSecretSharing.Split(secret, threshold, shareCount);
        int tried = 0;
        for (int subset = 1; subset < 1 << shareCount; subset++)
        {
            var chosen = Enumerable.Range(0, shareCount).Where(i => (subset >> i & 1) != 0).Select(i => shares[i]).ToList();
            if (chosen.Count < threshold) continue;
            // Any order, too: reverse every other subset.
            if (subset % 2 == 0) chosen.Reverse();
            Assert.Equal(secret, ShamirSecretSharing.Reconstruct(chosen, threshold, secretLength));
            tried++;
        }
        Assert.True(tried > 0);
    }

    [Fact]
    public void EverySubsetBelowThresholdIsRefused()
    {
        const int threshold = 4, shareCount = 6;
        var shares = ShamirSecretSharing.Split(RandomNumberGenerator.GetBytes(32), threshold, shareCount);
        for (int subset = 0; subset < 1 << shareCount; subset++)
        {
            var chosen = Enumerable.Range(0, shareCount).Where(i => (subset >> i & 1) != 0).Select(i => shares[i]).ToList();
            if (chosen.Count >= threshold) continue;
            var error = Assert.Throws<PrivacyException>(() => ShamirSecretSharing.Reconstruct(chosen, threshold, 32));
            Assert.Contains($"at least {threshold} shares", error.Message);
        }
    }

    [Fact]
    public void ThresholdMinusOneSharesAreConsistentWithAnySecret()
    {
        // t - 1 shares of secret A plus one forged point reconstruct any chosen secret B: they pin nothing down.
        const int threshold = 3;
        var secretA = RandomNumberGenerator.GetBytes(16);
        var secretB = RandomNumberGenerator.GetBytes(16);
        var known = ShamirSecretSharing.Split(secretA, threshold, 5).Take(threshold - 1).ToList();
        int chunks = ShamirSecretSharing.ChunkCount(16);
        const int forgedX = 9;
        var forged = new ulong[chunks];
        for (int c = 0; c < chunks; c++)
        {
            var chunk = new byte[8];
            secretB.AsSpan(c * 7, Math.Min(7, 16 - c * 7)).CopyTo(chunk);
            var points = new List<(ulong X, ulong Y)> { (0, BitConverter.ToUInt64(chunk)) };
            points.AddRange(known.Select(s => ((ulong)s.X, s.Values[c])));
            forged[c] = Interpolate(points, forgedX);
        }
        var shares = known.Append(new ShamirShare(forgedX, forged)).ToList();
        Assert.Equal(secretB, ShamirSecretSharing.Reconstruct(shares, threshold, 16));
    }

    [Fact]
    public void DuplicateZeroAndOutOfFieldSharesAreRefused()
    {
        var shares = ShamirSecretSharing.Split(RandomNumberGenerator.GetBytes(32), 3, 5);
        var duplicate = Assert.Throws<PrivacyException>(() => ShamirSecretSharing.Reconstruct([shares[0], shares[1], shares[1]], 3, 32));
        Assert.Contains("appears twice", duplicate.Message);
        var zero = Assert.Throws<PrivacyException>(() => ShamirSecretSharing.Reconstruct([shares[0], shares[1], shares[2] with { X = 0 }], 3, 32));
        Assert.Contains("x coordinate 0", zero.Message);
        var outside = Assert.Throws<PrivacyException>(() => ShamirSecretSharing.Reconstruct([shares[0], shares[1], new ShamirShare(3, [.. shares[2].Values[..4], MersenneField.Prime])], 3, 32));
        Assert.Contains("outside the field", outside.Message);
        var shortShare = Assert.Throws<PrivacyException>(() => ShamirSecretSharing.Reconstruct([shares[0], shares[1], new ShamirShare(3, shares[2].Values[..2])], 3, 32));
        Assert.Contains("needs 5", shortShare.Message);
    }

    [Fact]
    public void SharesOfAnotherSecretAreDetectedWhenTheyLeaveTheSecretRange()
    {
        // Mixing shares of two secrets interpolates to a random field element, which almost never fits 56 bits.
        var a = ShamirSecretSharing.Split(RandomNumberGenerator.GetBytes(32), 2, 3);
        var b = ShamirSecretSharing.Split(RandomNumberGenerator.GetBytes(32), 2, 3);
        var error = Assert.Throws<PrivacyException>(() => ShamirSecretSharing.Reconstruct([a[0], b[1]], 2, 32));
        Assert.Contains("do not interpolate", error.Message);
    }

    [Fact]
    public void SplitRefusesImpossibleThresholdsAndDuplicateCoordinates()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ShamirSecretSharing.Split(new byte[4], 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShamirSecretSharing.Split(new byte[4], 0, 3));
        Assert.Throws<ArgumentException>(() => ShamirSecretSharing.Split(new byte[4], 2, [1, 2, 2]));
        Assert.Throws<ArgumentException>(() => ShamirSecretSharing.Split(new byte[4], 2, [0, 1, 2]));
        Assert.Throws<ArgumentException>(() => ShamirSecretSharing.Split([], 2, 3));
    }

    [Fact]
    public void FieldArithmeticMatchesBigIntegerReference()
    {
        var p = new System.Numerics.BigInteger(MersenneField.Prime);
        var random = new Random(7);
        for (int i = 0; i < 10000; i++)
        {
            ulong a = (ulong)random.NextInt64(0, (long)MersenneField.Prime), b = (ulong)random.NextInt64(0, (long)MersenneField.Prime);
            Assert.Equal((ulong)(new System.Numerics.BigInteger(a) * b % p), MersenneField.Multiply(a, b));
            Assert.Equal((ulong)((new System.Numerics.BigInteger(a) + b) % p), MersenneField.Add(a, b));
            Assert.Equal((ulong)(((new System.Numerics.BigInteger(a) - b) % p + p) % p), MersenneField.Subtract(a, b));
            if (a != 0) Assert.Equal(1UL, MersenneField.Multiply(a, MersenneField.Inverse(a)));
        }
    }

    private static ulong Interpolate(List<(ulong X, ulong Y)> points, ulong at)
    {
        ulong value = 0;
        for (int i = 0; i < points.Count; i++)
        {
            ulong numerator = 1, denominator = 1;
            for (int j = 0; j < points.Count; j++)
            {
                if (j == i) continue;
                numerator = MersenneField.Multiply(numerator, MersenneField.Subtract(at, points[j].X));
                denominator = MersenneField.Multiply(denominator, MersenneField.Subtract(points[i].X, points[j].X));
            }
            value = MersenneField.Add(value, MersenneField.Multiply(points[i].Y, MersenneField.Multiply(numerator, MersenneField.Inverse(denominator))));
        }
        return value;
    }
}
