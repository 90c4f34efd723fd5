using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Checkpoints;

/// <summary>
/// Reads and writes <see cref="Checkpoint"/>s in the AllReduceNet checkpoint format, version 1 (docs/checkpoint-format.md).
/// All integers and floats are little-endian:
/// <code>
/// offset  size        field
/// 0       8           magic "ARNCKPT\0"
/// 8       4   int32   version = 1
/// 12      4   int32   L = number of layer sizes (at least 2)
/// 16      4 L int32   layer sizes, input first
/// ...     4   int32   completed epochs
/// ...     4   int32   seed
/// ...     4   int32   optimizer kind (0 = SGD, 1 = Adam)
/// ...     4   int32   S = optimizer state slots (SGD 1, Adam 2)
/// ...     8   int64   optimizer steps
/// ...     8   int64   P = parameter count (must equal what the layer sizes imply)
/// ...     4 P float32 parameters
/// ...   4 S P float32 optimizer slots, one after another
/// version 2 only:
/// ...     4   int32   J = bytes of the privacy section
/// ...     J           the privacy section, UTF-8 JSON (<see cref="Checkpoint.Privacy"/>: DP-SGD's run id and accountant)
/// end-32  32          SHA-256 of every byte before it
/// </code>
/// Writing is atomic: the bytes go to PATH.tmp, are flushed to disk, and the file is renamed over PATH, so a kill
/// leaves either the old checkpoint or the new one, never a mixture.
/// </summary>
public static class CheckpointFile
{
    /// <summary>The first 8 bytes of every checkpoint.</summary>
    public static ReadOnlySpan<byte> Magic => "ARNCKPT\0"u8;

    /// <summary>The format version of a checkpoint without a privacy section (this code reads it and <see cref="PrivacyVersion"/>).</summary>
    public const int Version = 1;

    /// <summary>The format version of a checkpoint with a privacy section: version 1 plus that section.</summary>
    public const int PrivacyVersion = 2;

    private const int HashBytes = 32;

    /// <summary>Writes <paramref name="checkpoint"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">Destination file; its directory is created if missing.</param>
    /// <param name="checkpoint">What to write.</param>
    /// <exception cref="ArgumentException">The checkpoint is inconsistent (slot lengths, slot count, sizes).</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static void Write(string path, Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        byte[] bytes = Serialize(checkpoint);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads and verifies a checkpoint.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="CheckpointException">The file is missing, truncated, damaged (checksum), or of another version.</exception>
    public static Checkpoint Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "the file does not exist");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new CheckpointException(path, $"reading it failed ({e.Message})"); }
        return Deserialize(bytes, path);
    }

    /// <summary>Encodes a checkpoint as the bytes of a version 1 file.</summary>
    /// <param name="checkpoint">What to encode.</param>
    /// <returns>The file's bytes, checksum included.</returns>
    /// <exception cref="ArgumentException">The checkpoint is inconsistent.</exception>
    public static byte[] Serialize(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        int p = checkpoint.Parameters.Length;
        if (checkpoint.LayerSizes.Length < 2) throw new ArgumentException("a checkpoint needs at least two layer sizes.", nameof(checkpoint));
        if (ParameterCount(checkpoint.LayerSizes) != p)
            throw new ArgumentException($"layer sizes {string.Join(",", checkpoint.LayerSizes)} imply {ParameterCount(checkpoint.LayerSizes)} parameters, but there are {p}.", nameof(checkpoint));
        if (checkpoint.OptimizerSlots.Length != SlotCount(checkpoint.Optimizer))
            throw new ArgumentException($"{checkpoint.Optimizer} has {SlotCount(checkpoint.Optimizer)} state slots, but the checkpoint holds {checkpoint.OptimizerSlots.Length}.", nameof(checkpoint));
        foreach (var slot in checkpoint.OptimizerSlots)
            if (slot.Length != p) throw new ArgumentException($"an optimizer slot holds {slot.Length} values, not {p}.", nameof(checkpoint));

        byte[]? privacy = checkpoint.Privacy is null ? null : System.Text.Encoding.UTF8.GetBytes(checkpoint.Privacy);
        long length = 8 + 4 + 4 + 4L * checkpoint.LayerSizes.Length + 4 * 4 + 8 + 8 + 4L * p * (1 + checkpoint.OptimizerSlots.Length) + HashBytes
            + (privacy is null ? 0 : 4 + privacy.Length);
        var bytes = new byte[length];
        var span = bytes.AsSpan();
        int at = 0;
        Magic.CopyTo(span); at += 8;
        PutInt(span, ref at, privacy is null ? Version : PrivacyVersion);
        PutInt(span, ref at, checkpoint.LayerSizes.Length);
        foreach (int size in checkpoint.LayerSizes) PutInt(span, ref at, size);
        PutInt(span, ref at, checkpoint.CompletedEpochs);
        PutInt(span, ref at, checkpoint.Seed);
        PutInt(span, ref at, (int)checkpoint.Optimizer);
        PutInt(span, ref at, checkpoint.OptimizerSlots.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], checkpoint.OptimizerSteps); at += 8;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], p); at += 8;
        PutFloats(span, ref at, checkpoint.Parameters);
        foreach (var slot in checkpoint.OptimizerSlots) PutFloats(span, ref at, slot);
        if (privacy is not null)
        {
            PutInt(span, ref at, privacy.Length);
            privacy.CopyTo(span[at..]);
            at += privacy.Length;
        }
        SHA256.HashData(span[..at], span[at..]);
        return bytes;
    }

    /// <summary>Decodes and verifies the bytes of a checkpoint file.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="path">The file's name, for error messages.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="CheckpointException">The bytes are truncated, damaged or of another version.</exception>
    public static Checkpoint Deserialize(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < 8 || !bytes[..8].SequenceEqual(Magic))
            throw new CheckpointException(path, "it is not an AllReduceNet checkpoint (the magic bytes \"ARNCKPT\" are missing)");
        if (bytes.Length < 16 + HashBytes)
            throw new CheckpointException(path, $"it is truncated ({bytes.Length} bytes)");
        int at = 8;
        int version = GetInt(bytes, ref at);
        if (version != Version && version != PrivacyVersion)
            throw new CheckpointException(path, $"it has format version {version}, but this program reads versions {Version} and {PrivacyVersion}");
        // The checksum is verified before any length in the header is trusted, so damage anywhere is reported as such.
        var body = bytes[..^HashBytes];
        Span<byte> hash = stackalloc byte[HashBytes];
        SHA256.HashData(body, hash);
        if (!hash.SequenceEqual(bytes[^HashBytes..]))
            throw new CheckpointException(path, $"it is damaged or truncated: its SHA-256 checksum does not match its {bytes.Length} bytes");
        try
        {
            return ParseBody(body, at, path, version == PrivacyVersion);
        }
        catch (ArgumentOutOfRangeException)
        {
            // Only a file written with a correct checksum over an inconsistent body can get here.
            throw new CheckpointException(path, "its header announces more data than the file holds");
        }
    }

    private static Checkpoint ParseBody(ReadOnlySpan<byte> body, int at, string path, bool hasPrivacy)
    {
        int layerCount = GetInt(body, ref at);
        if (layerCount < 2 || layerCount > 1024) throw new CheckpointException(path, $"it claims {layerCount} layer sizes");
        var sizes = new int[layerCount];
        for (int i = 0; i < layerCount; i++)
        {
            sizes[i] = GetInt(body, ref at);
            if (sizes[i] <= 0) throw new CheckpointException(path, $"layer size {i} is {sizes[i]}");
        }
        int epochs = GetInt(body, ref at), seed = GetInt(body, ref at), kind = GetInt(body, ref at), slots = GetInt(body, ref at);
        if (kind is not (0 or 1)) throw new CheckpointException(path, $"it names optimizer kind {kind}, which is not 0 (SGD) or 1 (Adam)");
        if (slots != SlotCount((OptimizerKind)kind)) throw new CheckpointException(path, $"it holds {slots} optimizer slots for {(OptimizerKind)kind}");
        long steps = BinaryPrimitives.ReadInt64LittleEndian(body[at..]); at += 8;
        long p = BinaryPrimitives.ReadInt64LittleEndian(body[at..]); at += 8;
        if (p != ParameterCount(sizes)) throw new CheckpointException(path, $"it holds {p} parameters, but its layer sizes imply {ParameterCount(sizes)}");
        long tensors = 4 * p * (1 + slots);
        if (hasPrivacy ? body.Length - at < tensors + 4 : body.Length - at != tensors)
            throw new CheckpointException(path, $"its length {body.Length + HashBytes} does not match its header");
        var parameters = GetFloats(body, ref at, (int)p);
        var slotData = new float[slots][];
        for (int s = 0; s < slots; s++) slotData[s] = GetFloats(body, ref at, (int)p);
        string? privacy = null;
        if (hasPrivacy)
        {
            int bytes = GetInt(body, ref at);
            if (bytes < 0 || body.Length - at != bytes)
                throw new CheckpointException(path, $"its privacy section claims {bytes} bytes, but {body.Length - at} remain");
            privacy = System.Text.Encoding.UTF8.GetString(body.Slice(at, bytes));
        }
        return new Checkpoint(sizes, epochs, seed, (OptimizerKind)kind, steps, parameters, slotData) { Privacy = privacy };
    }

    /// <summary>The number of parameters of an MLP with these layer sizes (weights and biases).</summary>
    /// <param name="sizes">Layer widths, input first.</param>
    /// <returns>sum over l of sizes[l] x sizes[l+1] + sizes[l+1].</returns>
    public static long ParameterCount(IReadOnlyList<int> sizes)
    {
        long total = 0;
        for (int l = 0; l + 1 < sizes.Count; l++) total += (long)sizes[l] * sizes[l + 1] + sizes[l + 1];
        return total;
    }

    private static int SlotCount(OptimizerKind kind) => kind == OptimizerKind.Adam ? 2 : 1;

    private static void PutInt(Span<byte> span, ref int at, int value) { BinaryPrimitives.WriteInt32LittleEndian(span[at..], value); at += 4; }

    private static int GetInt(ReadOnlySpan<byte> span, ref int at) { int v = BinaryPrimitives.ReadInt32LittleEndian(span[at..]); at += 4; return v; }

    private static void PutFloats(Span<byte> span, ref int at, float[] values)
    {
        var source = MemoryMarshal.AsBytes(values.AsSpan());
        if (BitConverter.IsLittleEndian) source.CopyTo(span[at..]);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(at + 4 * i)..], values[i]);
        at += source.Length;
    }

    private static float[] GetFloats(ReadOnlySpan<byte> span, ref int at, int count)
    {
        var values = new float[count];
        if (BitConverter.IsLittleEndian) span.Slice(at, 4 * count).CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(at + 4 * i)..]);
        at += 4 * count;
        return values;
    }
}
