using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// The canonical binary form of a block: little-endian integers, lists as a count then their items in ascending peer
/// order, digests as 32 bytes, signatures as 64. The header (all but the payload) is what the block hash covers;
/// a record on disk or on the wire is the header, then the payload as a count and IEEE floats. Decoding checks every
/// count against what is left, so a damaged record is an error naming what was wrong, never a wild allocation.
/// </summary>
internal static class LedgerBlockCodec
{
    private const uint Magic = 0x424E5241; // "ARNB"
    private const int Version = 1;
    public const int PublicKeyBytes = 64, SignatureBytes = 64;

    public static byte[] EncodeHeader(LedgerBlock block)
    {
        var w = new Writer();
        WriteHeader(w, block);
        return w.ToArray();
    }

    /// <summary>The whole record: header, then the payload.</summary>
    public static byte[] Encode(LedgerBlock block)
    {
        var w = new Writer();
        WriteHeader(w, block);
        w.Int(block.Payload.Length);
        w.Bytes(MemoryMarshal.AsBytes(block.Payload.AsSpan()));
        return w.ToArray();
    }

    /// <exception cref="LedgerFormatException">The bytes are not one well-formed block record.</exception>
    public static LedgerBlock Decode(ReadOnlySpan<byte> record)
    {
        var r = new Reader(record);
        if (r.UInt() != Magic) throw new LedgerFormatException("it does not start with a block's magic number");
        int version = r.Int();
        if (version != Version) throw new LedgerFormatException($"block format version {version}; this program reads version {Version}");
        long round = r.Long();
        var previous = r.Take(LedgerDigest.Bytes);
        int peers = r.Count(PublicKeyBytes + 8, "genesis peers");
        GenesisSection? genesis = null;
        if (peers > 0)
        {
            var keys = new byte[peers][];
            var stakes = new long[peers];
            for (int i = 0; i < peers; i++) { keys[i] = r.Take(PublicKeyBytes); stakes[i] = r.Long(); }
            genesis = new GenesisSection(keys, stakes, r.Int(), r.Int(), r.Int());
        }
        var roles = new RoundRoles(r.Ids("noisers"), r.Ids("verifiers"), r.Ids("aggregators"));
        int acceptedCount = r.Count(4 + LedgerDigest.Bytes, "accepted updates");
        var accepted = new AcceptedUpdate[acceptedCount];
        for (int i = 0; i < acceptedCount; i++) accepted[i] = new AcceptedUpdate(r.Int(), r.Take(LedgerDigest.Bytes));
        var contributors = r.Ids("contributors");
        var deltaDigest = r.Take(LedgerDigest.Bytes);
        var modelDigest = r.Take(LedgerDigest.Bytes);
        int signatureCount = r.Count(4 + SignatureBytes, "signatures");
        var signatures = new VerifierSignature[signatureCount];
        for (int i = 0; i < signatureCount; i++) signatures[i] = new VerifierSignature(r.Int(), r.Take(SignatureBytes));
        int payloadCount = r.Count(sizeof(float), "payload values");
        var payload = MemoryMarshal.Cast<byte, float>(r.Take(payloadCount * sizeof(float))).ToArray();
        if (r.Left != 0) throw new LedgerFormatException($"{r.Left} bytes follow the payload");
        return new LedgerBlock(round, previous, genesis, roles, accepted, contributors, deltaDigest, modelDigest, signatures, payload);
    }

    private static void WriteHeader(Writer w, LedgerBlock b)
    {
        w.UInt(Magic);
        w.Int(Version);
        w.Long(b.Round);
        w.Bytes(b.PreviousHash);
        w.Int(b.Genesis?.PublicKeys.Length ?? 0);
        if (b.Genesis is { } genesis)
        {
            for (int i = 0; i < genesis.PublicKeys.Length; i++) { w.Bytes(genesis.PublicKeys[i]); w.Long(genesis.Stakes[i]); }
            w.Int(genesis.Noisers);
            w.Int(genesis.Verifiers);
            w.Int(genesis.Aggregators);
        }
        w.Ids(b.Roles.Noisers);
        w.Ids(b.Roles.Verifiers);
        w.Ids(b.Roles.Aggregators);
        w.Int(b.Accepted.Length);
        foreach (var a in b.Accepted) { w.Int(a.Peer); w.Bytes(a.Digest); }
        w.Ids(b.Contributors);
        w.Bytes(b.DeltaDigest);
        w.Bytes(b.ModelDigest);
        w.Int(b.Signatures.Length);
        foreach (var s in b.Signatures) { w.Int(s.Peer); w.Bytes(s.Signature); }
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();
        private readonly byte[] _scratch = new byte[8];
        public void UInt(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(_scratch, v); _stream.Write(_scratch, 0, 4); }
        public void Int(int v) { BinaryPrimitives.WriteInt32LittleEndian(_scratch, v); _stream.Write(_scratch, 0, 4); }
        public void Long(long v) { BinaryPrimitives.WriteInt64LittleEndian(_scratch, v); _stream.Write(_scratch, 0, 8); }
        public void Bytes(ReadOnlySpan<byte> v) => _stream.Write(v);
        public void Ids(int[] ids) { Int(ids.Length); foreach (int id in ids) Int(id); }
        public byte[] ToArray() => _stream.ToArray();
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;
        public readonly int Left => _data.Length - _at;
        public byte[] Take(int n)
        {
            if (n > Left) throw new LedgerFormatException($"it ends {n - Left} bytes early (at byte {_at})");
            var result = _data.Slice(_at, n).ToArray();
            _at += n;
            return result;
        }
        public uint UInt() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public int Int() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public long Long() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public int Count(int itemBytes, string what)
        {
            int n = Int();
            if (n < 0 || (long)n * itemBytes > Left) throw new LedgerFormatException($"it claims {n} {what}, more than its {Left} remaining bytes hold");
            return n;
        }
        public int[] Ids(string what)
        {
            var ids = new int[Count(4, what)];
            for (int i = 0; i < ids.Length; i++) ids[i] = Int();
            return ids;
        }
    }
}
