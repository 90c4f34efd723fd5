using System.Security.Cryptography;

namespace AllReduceNet.Privacy.SecretSharing;

/// <summary>
/// Shamir's t-of-n secret sharing (Shamir 1979) over the prime field of integers modulo 2^61 - 1. A secret of L bytes is
/// cut into ceil(L / 7) chunks of 7 bytes (56 bits, below the prime); each chunk is the constant term of its own random
/// polynomial of degree t - 1, and share x holds every polynomial's value at x. Any t shares give the polynomials back
/// by Lagrange interpolation at 0; t - 1 shares are consistent with every possible secret (for each candidate there is
/// exactly one polynomial through it and the t - 1 points), so they reveal nothing of it.
/// </summary>
public static class ShamirSecretSharing
{
    /// <summary>Bytes of secret per field element.</summary>
    public const int ChunkBytes = 7;

    /// <summary>Field elements per share for a secret of <paramref name="secretLength"/> bytes.</summary>
    /// <param name="secretLength">Secret length in bytes, at least 1.</param>
    /// <returns>ceil(secretLength / 7).</returns>
    public static int ChunkCount(int secretLength) => (secretLength + ChunkBytes - 1) / ChunkBytes;

    /// <summary>Splits a secret into shares at x = 1 .. <paramref name="shareCount"/>.</summary>
    /// <param name="secret">The secret, at least one byte.</param>
    /// <param name="threshold">t: how many shares reconstruct it, 1..shareCount.</param>
    /// <param name="shareCount">n: how many shares to make.</param>
    /// <returns>n shares.</returns>
    /// <exception cref="ArgumentException">The secret is empty, or t or n is out of range.</exception>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, int shareCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shareCount, 1);
        var xs = new int[shareCount];
        for (int i = 0; i < shareCount; i++) xs[i] = i + 1;
        return Split(secret, threshold, xs);
    }

    /// <summary>Splits a secret into one share per x coordinate in <paramref name="xs"/>.</summary>
    /// <param name="secret">The secret, at least one byte.</param>
    /// <param name="threshold">t: how many shares reconstruct it, 1..xs.Count.</param>
    /// <param name="xs">Distinct x coordinates, each at least 1.</param>
    /// <returns>One share per x, in the order of <paramref name="xs"/>.</returns>
    /// <exception cref="ArgumentException">The secret is empty, t is out of range, or an x is below 1 or repeated.</exception>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, IReadOnlyList<int> xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (secret.IsEmpty) throw new ArgumentException("The secret is empty.", nameof(secret));
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        if (threshold > xs.Count)
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"threshold {threshold} exceeds the {xs.Count} shares: the secret could never be reconstructed.");
        CheckDistinctPositive(xs.Select(x => x), nameof(xs));

        int chunks = ChunkCount(secret.Length);
        var shares = new ShamirShare[xs.Count];
        for (int s = 0; s < shares.Length; s++) shares[s] = new ShamirShare(xs[s], new ulong[chunks]);
        var coefficients = new ulong[threshold];
        Span<byte> chunk = stackalloc byte[8];
        for (int c = 0; c < chunks; c++)
        {
            chunk.Clear();
            secret.Slice(c * ChunkBytes, Math.Min(ChunkBytes, secret.Length - c * ChunkBytes)).CopyTo(chunk);
            coefficients[0] = BitConverter.ToUInt64(chunk);
            for (int k = 1; k < threshold; k++) coefficients[k] = MersenneField.Random();
            foreach (var share in shares)
            {
                // Horner's rule at x.
                ulong x = (ulong)share.X, y = 0;
                for (int k = threshold - 1; k >= 0; k--) y = MersenneField.Add(MersenneField.Multiply(y, x), coefficients[k]);
                share.Values[c] = y;
            }
        }
        CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(coefficients.AsSpan()));
        return shares;
    }

    /// <summary>
    /// Reconstructs a secret of <paramref name="secretLength"/> bytes from at least <paramref name="threshold"/> shares
    /// (the first t are used).
    /// </summary>
    /// <param name="shares">At least t shares with distinct x coordinates, each with ceil(secretLength / 7) values below 2^61 - 1.</param>
    /// <param name="threshold">t, the threshold the secret was split with.</param>
    /// <param name="secretLength">The secret's length in bytes.</param>
    /// <returns>The secret.</returns>
    /// <exception cref="PrivacyException">Fewer than t shares; an x coordinate below 1 or repeated; a share of the wrong
    /// length or with a value outside the field; or shares that do not come from one secret of this length.</exception>
    public static byte[] Reconstruct(IReadOnlyList<ShamirShare> shares, int threshold, int secretLength)
    {
        ArgumentNullException.ThrowIfNull(shares);
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(secretLength, 1);
        if (shares.Count < threshold)
            throw new PrivacyException($"Reconstruction needs at least {threshold} shares (the threshold) but got {shares.Count}: refused.");
        int chunks = ChunkCount(secretLength);
        for (int s = 0; s < shares.Count; s++)
        {
            var share = shares[s] ?? throw new PrivacyException($"Share {s} is null.");
            if (share.Values is null || share.Values.Length != chunks)
                throw new PrivacyException($"Share with x = {share.X} has {share.Values?.Length ?? 0} values; a {secretLength}-byte secret needs {chunks}.");
            foreach (ulong v in share.Values)
                if (v >= MersenneField.Prime) throw new PrivacyException($"Share with x = {share.X} holds {v}, outside the field (below 2^61 - 1).");
        }
        try
        {
            CheckDistinctPositive(shares.Select(s => s.X), nameof(shares));
        }
        catch (ArgumentException e)
        {
            throw new PrivacyException(e.Message, e);
        }

        // Lagrange basis at 0 over the first t shares: l_i = prod_{j != i} x_j / (x_j - x_i).
        var basis = new ulong[threshold];
        for (int i = 0; i < threshold; i++)
        {
            ulong numerator = 1, denominator = 1, xi = (ulong)shares[i].X;
            for (int j = 0; j < threshold; j++)
            {
                if (j == i) continue;
                ulong xj = (ulong)shares[j].X;
                numerator = MersenneField.Multiply(numerator, xj);
                denominator = MersenneField.Multiply(denominator, MersenneField.Subtract(xj, xi));
            }
            basis[i] = MersenneField.Multiply(numerator, MersenneField.Inverse(denominator));
        }
        var secret = new byte[secretLength];
        Span<byte> chunk = stackalloc byte[8];
        for (int c = 0; c < chunks; c++)
        {
            ulong value = 0;
            for (int i = 0; i < threshold; i++) value = MersenneField.Add(value, MersenneField.Multiply(basis[i], shares[i].Values[c]));
            int length = Math.Min(ChunkBytes, secretLength - c * ChunkBytes);
            if (value >> (8 * length) != 0)
                throw new PrivacyException($"The shares do not interpolate to a {secretLength}-byte secret (chunk {c} is {value}, too large): they are corrupted or belong to different secrets.");
            BitConverter.TryWriteBytes(chunk, value);
            chunk[..length].CopyTo(secret.AsSpan(c * ChunkBytes));
        }
        return secret;
    }

    private static void CheckDistinctPositive(IEnumerable<int> xs, string name)
    {
        var seen = new HashSet<int>();
        foreach (int x in xs)
        {
            if (x < 1) throw new ArgumentException($"x coordinate {x} is invalid: x must be at least 1 (x = 0 is the secret).", name);
            if (!seen.Add(x)) throw new ArgumentException($"x coordinate {x} appears twice: duplicate shares are refused.", name);
        }
    }
}
