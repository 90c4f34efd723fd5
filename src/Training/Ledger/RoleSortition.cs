using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// Who holds which role in round r, computed by every peer alike from public data only: the hash of block r - 1 and
/// the stakes after it. This stands in for Biscotti's verifiable random function: the randomness is
/// SHA-256(previous hash, role, draw), which no peer can steer (the previous hash is fixed before anyone knows the
/// draws, and a peer's own key takes no part), and anyone can recompute it to check a block's roles. Each role is a
/// stake-weighted draw without replacement: a peer's chance is its stake over the stake not yet drawn for that role.
/// </summary>
internal static class RoleSortition
{
    /// <summary>The roles of the round after the block with hash <paramref name="previousHash"/>.</summary>
    /// <param name="previousHash">The previous block's hash.</param>
    /// <param name="stakes">Every peer's stake after the previous block (positive).</param>
    /// <param name="noisers">How many noisers to draw (at most the peers).</param>
    /// <param name="verifiers">How many verifiers.</param>
    /// <param name="aggregators">How many aggregators.</param>
    public static RoundRoles Draw(ReadOnlySpan<byte> previousHash, IReadOnlyList<long> stakes, int noisers, int verifiers, int aggregators)
    {
        var hash = previousHash.ToArray();
        return new RoundRoles(Pick(hash, "noiser", stakes, noisers), Pick(hash, "verifier", stakes, verifiers), Pick(hash, "aggregator", stakes, aggregators));
    }

    private static int[] Pick(byte[] previousHash, string role, IReadOnlyList<long> stakes, int count)
    {
        if (count > stakes.Count) throw new ArgumentOutOfRangeException(nameof(count), count, $"cannot draw {count} {role}s from {stakes.Count} peers.");
        var left = Enumerable.Range(0, stakes.Count).ToList();
        var chosen = new int[count];
        var input = new byte[previousHash.Length + Encoding.ASCII.GetByteCount(role) + 4];
        previousHash.CopyTo(input, 0);
        Encoding.ASCII.GetBytes(role, input.AsSpan(previousHash.Length));
        for (int draw = 0; draw < count; draw++)
        {
            long total = left.Sum(p => stakes[p]);
            BinaryPrimitives.WriteInt32LittleEndian(input.AsSpan(input.Length - 4), draw);
            // 64 random bits reduced modulo the total stake: the bias is below total / 2^64, far below anything measurable.
            ulong random = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(input));
            long point = (long)(random % (ulong)total);
            int at = 0;
            while (point >= stakes[left[at]]) point -= stakes[left[at++]];
            chosen[draw] = left[at];
            left.RemoveAt(at);
        }
        Array.Sort(chosen);
        return chosen;
    }
}
