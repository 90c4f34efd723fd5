using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Privacy;

/// <summary>
/// A sum AllReduce of float vectors in which no rank sees another rank's plain vector or any partial sum over a proper
/// subset of ranks: each rank quantizes its vector to 32-bit fixed point and adds pairwise zero-sum masks
/// (+PRG(s_ij) for a peer j &gt; i, -PRG(s_ij) for j &lt; i; PRG = ChaCha8 or Philox4x32-10, seeds from ECDH P-256 and HKDF, fresh
/// for every call) before an ordinary integer AllReduce (any algorithm: ring, tree, recursive doubling, MPI's own),
/// whose sums wrap modulo 2^32. The masks cancel in the total, so after dequantization the result equals the plain
/// sum of the quantized vectors exactly, bitwise identical on every rank. On the ring (and Auto) the quantizing,
/// masking and dequantizing happen segment by segment inside the ring (<see cref="MaskedRing"/>), not as passes of
/// their own around it; the messages and the result are the same.
/// <para>
/// Vocabulary: the format is <see cref="FixedPointFormat"/> (clip range R, scale 2^f); a call is one
/// <see cref="Sum"/> or <see cref="StartSum"/>; a peer is a rank this rank shares a mask with. The error bound, the
/// overflow rule and the threat model are in docs/masked-allreduce.md.
/// </para>
/// <para>
/// Created collectively by <see cref="Create"/> (one key exchange); afterwards every call is collective too and
/// must be made in the same order on every rank, from one thread at a time, as the communicator's collectives are.
/// </para>
/// </summary>
public sealed class MaskedAllReduce
{
    /// <summary>Elements quantized and masked as one unit: 64 KiB of integers, which stay in L2 while every peer's mask is added.</summary>
    private const int BlockElements = 16384;

    private const int OptionBytes = 20;
    private readonly Communicator _communicator;
    private readonly PairwiseMaskKeys _keys;
    private readonly ParallelOptions _parallel;
    private long _calls;

    private MaskedAllReduce(Communicator communicator, MaskedAllReduceOptions options, FixedPointFormat format, PairwiseMaskKeys keys)
    {
        _communicator = communicator;
        Options = options;
        Format = format;
        _keys = keys;
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxThreads };
    }

    /// <summary>The settings every rank agreed on.</summary>
    public MaskedAllReduceOptions Options { get; }

    /// <summary>The fixed-point format (clip range, fractional bits, the rank count its overflow check covered).</summary>
    public FixedPointFormat Format { get; }

    /// <summary>The ranks this rank shares a mask with, ascending: all others, or the neighbours of <see cref="MaskedAllReduceOptions.Neighbours"/>.</summary>
    public IReadOnlyList<int> Peers => _keys.Peers.ToArray();

    /// <summary>Calls made so far; call c uses the c-th seeds of every pair.</summary>
    public long Calls => _calls;

    /// <summary>
    /// Bound on |result - sum over ranks of clamp(x, -R, R)| per element, before the float rounding of the result
    /// itself: N / 2^(f+1), half a quantization step per rank.
    /// </summary>
    public double ErrorBound => Format.SumErrorBound(_communicator.Size);

    /// <summary>
    /// Collective: exchanges ECDH P-256 public keys (and the options, which must agree) by AllGather and agrees a mask
    /// key with every peer.
    /// </summary>
    /// <param name="communicator">The ranks that will sum together.</param>
    /// <param name="options">The same settings on every rank; null means <see cref="MaskedAllReduceOptions.Default"/>.</param>
    /// <param name="collective">Options of the key exchange's AllGather (timeout); null means the defaults.</param>
    /// <returns>This rank's side of the masked AllReduce.</returns>
    /// <exception cref="ArgumentNullException">communicator is null.</exception>
    /// <exception cref="PrivacyException">
    /// The ranks passed different options (names the ranks and values); an option is out of range; the format could
    /// overflow the modulus 2^32 for this many ranks; a peer's public key is not a P-256 point.
    /// </exception>
    public static MaskedAllReduce Create(Communicator communicator, MaskedAllReduceOptions? options = null, CollectiveOptions? collective = null)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        options ??= MaskedAllReduceOptions.Default;
        int rank = communicator.Rank, size = communicator.Size;
        int stride = PairwiseMaskKeys.PublicKeyBytes + OptionBytes;
        var mine = new byte[stride];
        using var keyPair = PairwiseMaskKeys.CreateKeyPair(mine);
        WriteOptions(options, mine.AsSpan(PairwiseMaskKeys.PublicKeyBytes));
        var gathered = new byte[stride * size];
        communicator.AllGather<byte>(mine, gathered, collective);

        // Everyone checks everyone's options before any check of their values, so all ranks fail alike.
        for (int r = 0; r < size; r++)
        {
            var theirs = gathered.AsSpan(r * stride + PairwiseMaskKeys.PublicKeyBytes, OptionBytes);
            if (!theirs.SequenceEqual(mine.AsSpan(PairwiseMaskKeys.PublicKeyBytes)))
                throw new PrivacyException($"rank {rank}: the masked AllReduce's options differ between ranks: rank {r} has {Describe(theirs)}, rank {rank} has {Describe(mine.AsSpan(PairwiseMaskKeys.PublicKeyBytes))}. Every rank must pass the same options.");
        }
        var format = MaskedFormat.Choose(options, size);
        if (options.Neighbours is < 1)
            throw new PrivacyException($"Neighbours must be at least 1 (or null for all pairs), but was {options.Neighbours}.");
        if (!Enum.IsDefined(options.Generator))
            throw new PrivacyException($"Generator must be ChaCha8 or Philox, but was {(int)options.Generator}.");
        if (options.MaxThreads < 1)
            throw new PrivacyException($"MaxThreads must be at least 1, but was {options.MaxThreads}.");
        var keys = PairwiseMaskKeys.Agree(rank, PeersOf(rank, size, options.Neighbours), keyPair, gathered, stride);
        return new MaskedAllReduce(communicator, options, format, keys);
    }

    /// <summary>
    /// Collective: replaces <paramref name="data"/> on every rank by the sum over ranks of its quantized values,
    /// dequantized; bitwise identical on every rank. Every rank passes the same length.
    /// </summary>
    /// <param name="data">This rank's vector in; the sum out. The work is done in this memory, so after an exception it holds masked integers, not the input.</param>
    /// <param name="options">
    /// Options of the AllReduce (algorithm, timeout, segment size); null means the defaults. Ring, and Auto on
    /// in-process ranks (with <see cref="MaskedAllReduceOptions.MaxThreads"/> 1), run the fused <see cref="MaskedRing"/>;
    /// the other algorithms, and Auto under MPI, quantize and mask the whole vector, then run that algorithm's integer AllReduce.
    /// </param>
    /// <exception cref="CollectiveMismatchException">Ranks passed different lengths (with validation on; the unfused path).</exception>
    /// <exception cref="PrivacyException">The fused ring received a segment of another length than its own: ranks passed different lengths.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void Sum(Span<float> data, CollectiveOptions? options = null)
    {
        // In place: the integers live in the floats' own memory (each element is read before it is overwritten), so
        // no buffer is touched besides the caller's; on a memory-bound machine that is a third less traffic per pass.
        if (UsesFusedRing(options))
        {
            MaskedRing.Run(_communicator, data, RingMasksForCall(_calls++), Format, Options.Generator, options);
            return;
        }
        var integers = MemoryMarshal.Cast<float, int>(data);
        QuantizeAndMask(data, integers, _calls++);
        _communicator.AllReduce<int>(integers, ReduceOp.Sum, options);
        Dequantize(integers, data);
    }

    /// <summary>
    /// Collective: quantizes and masks <paramref name="data"/> now, on the calling thread, then starts the integer
    /// AllReduce on the communicator's progress thread and returns; <see cref="MaskedSumHandle.Wait()"/> writes the
    /// dequantized sum into <paramref name="data"/>. The order of calls, started or blocking, must be the same on every rank.
    /// </summary>
    /// <param name="data">This rank's vector; holds the sum once the handle's Wait returns. Not read after this call returns.</param>
    /// <param name="options">Options of the integer AllReduce; null means the defaults.</param>
    /// <returns>The handle to wait on.</returns>
    public MaskedSumHandle StartSum(Memory<float> data, CollectiveOptions? options = null)
    {
        int[] buffer = ArrayPool<int>.Shared.Rent(Math.Max(data.Length, 1));
        QuantizeAndMask(data.Span, buffer, _calls++);
        var inner = _communicator.StartAllReduce(buffer.AsMemory(0, data.Length), ReduceOp.Sum, options);
        return new MaskedSumHandle(this, inner, buffer, data);
    }

    /// <summary>
    /// What this rank puts into the integer AllReduce for call <paramref name="call"/>: Q(x) plus its signed masks,
    /// modulo 2^32, into masked[0 .. x.Length), which may be x's own memory. Internal so the tests can look at what
    /// the other ranks receive.
    /// </summary>
    internal void QuantizeAndMask(ReadOnlySpan<float> x, Span<int> masked, long call)
    {
        var peers = PeersForCall(call);
        float clip = Format.ClipRange, scale = Format.Scale;
        int n = x.Length, blocks = (n + BlockElements - 1) / BlockElements;
        if (blocks <= 1 || Options.MaxThreads == 1)
        {
            for (int start = 0; start < n; start += BlockElements)
            {
                int length = Math.Min(BlockElements, n - start);
                VectorQuantizer.Quantize(x.Slice(start, length), masked.Slice(start, length), clip, scale);
                MaskStreams.AddMasks(Options.Generator, masked, start, length, peers);
            }
            return;
        }
        unsafe
        {
            fixed (float* pointer = x)
            fixed (int* target = masked)
            {
                nint source = (nint)pointer, destination = (nint)target;
                Parallel.For(0, blocks, _parallel, b =>
                {
                    int start = b * BlockElements, length = Math.Min(BlockElements, n - start);
                    var q = new Span<int>((int*)destination, n);
                    VectorQuantizer.Quantize(new ReadOnlySpan<float>((float*)source + start, length), q.Slice(start, length), clip, scale);
                    MaskStreams.AddMasks(Options.Generator, q, start, length, peers);
                });
            }
        }
    }

    /// <summary>output[i] = sum[i] / 2^f (<see cref="MaskedRing.Dequantize"/>); output may be sum's own memory.</summary>
    internal void Dequantize(ReadOnlySpan<int> sum, Span<float> output) => MaskedRing.Dequantize(sum, output, 1f / Format.Scale);

    /// <summary>The fused ring's <see cref="Sum"/>, with <paramref name="observeSent"/> shown every reduce-scatter segment as it is sent (for the tests).</summary>
    internal void SumObservingSends(Span<float> data, CollectiveOptions? options, MaskedRing.SentSegmentObserver observeSent) =>
        MaskedRing.Run(_communicator, data, RingMasksForCall(_calls++), Format, Options.Generator, options, observeSent);

    /// <summary>
    /// The largest coalition of honest-but-curious ranks that learns nothing beyond the total from what it receives:
    /// N - 2 with masks between all pairs, 2k - 1 with <see cref="MaskedAllReduceOptions.Neighbours"/> k (when 2k &lt; N - 1);
    /// 0 on one or two ranks, where the total tells each rank the other's vector (docs/masked-allreduce.md, "Threat model").
    /// </summary>
    public int LargestSafeCoalition =>
        Options.Neighbours is int k && 2L * k < _communicator.Size - 1 ? 2 * k - 1 : Math.Max(0, _communicator.Size - 2);

    /// <summary>
    /// The fused ring's masks for call <paramref name="call"/>: with all pairs, or <see cref="MaskedAllReduceOptions.Neighbours"/>
    /// 1, on three ranks or more, each chunk without the masks of pairs next to each other on its path
    /// (<see cref="RingMaskPlan"/>: (N - 1)(N - 2)/N, or 2/N, mask words per element instead of N - 1, or 2); otherwise
    /// every peer's mask on every element. Same guarantee, same result bits.
    /// </summary>
    internal RingMaskPlan RingMasksForCall(long call)
    {
        var peers = PeersForCall(call);
        int size = _communicator.Size;
        bool allPairs = _keys.Peers.Length == size - 1;
        return size >= 3 && (allPairs || Options.Neighbours == 1)
            ? RingMaskPlan.SkippingPathNeighbours(_communicator.Rank, size, peers, _keys.Peers)
            : RingMaskPlan.Everywhere(peers);
    }

    /// <summary>Every peer's seed for call <paramref name="call"/> and the sign of its mask (+ for a higher rank).</summary>
    internal MaskPeer[] PeersForCall(long call)
    {
        var peers = new MaskPeer[_keys.Peers.Length];
        for (int p = 0; p < peers.Length; p++)
            peers[p] = new MaskPeer { Seed = _keys.SeedFor(p, call), Sign = _keys.Peers[p] > _communicator.Rank ? 1 : -1 };
        return peers;
    }

    /// <summary>
    /// The ring runs as <see cref="MaskedRing"/>, with the masking inside the ring; so does Auto on in-process ranks.
    /// Auto on other transports, the other algorithms, and several threads per rank run as quantize and mask, then
    /// that algorithm's integer AllReduce, then dequantize: under MPICH the integer AllReduce takes the shared-memory
    /// channel's single-copy path, which the fused ring's point-to-point messages do not, and measured 1.4x to 2.1x
    /// the fused ring's busbw on 2 processes (benchmarks/RESULTS-federated.md, "maskspeed 3").
    /// </summary>
    internal bool UsesFusedRing(CollectiveOptions? options) =>
        Options.FuseIntoRing && Options.MaxThreads == 1 && (options?.Algorithm ?? AllReduceAlgorithm.Auto) switch
        {
            AllReduceAlgorithm.Ring => true,
            AllReduceAlgorithm.Auto => _communicator.TransportName.StartsWith("in-process", StringComparison.Ordinal),
            _ => false,
        };

    internal void Release(int[] buffer) => ArrayPool<int>.Shared.Return(buffer);

    /// <summary>
    /// All other ranks, or those within ring distance 1..k of <paramref name="rank"/> (both directions), ascending.
    /// The relation is symmetric, so both ends of a pair add the pair's mask with opposite signs.
    /// </summary>
    internal static int[] PeersOf(int rank, int size, int? neighbours)
    {
        if (neighbours is not int k || 2L * k >= size - 1)
            return Enumerable.Range(0, size).Where(r => r != rank).ToArray();
        var peers = new SortedSet<int>();
        for (int d = 1; d <= k; d++)
        {
            peers.Add((rank + d) % size);
            peers.Add(((rank - d) % size + size) % size);
        }
        return peers.ToArray();
    }

    private static void WriteOptions(MaskedAllReduceOptions options, Span<byte> target)
    {
        BinaryPrimitives.WriteSingleLittleEndian(target, options.ClipRange);
        BinaryPrimitives.WriteInt32LittleEndian(target[4..], options.FractionalBits ?? -1);
        BinaryPrimitives.WriteInt32LittleEndian(target[8..], options.Neighbours ?? -1);
        BinaryPrimitives.WriteInt32LittleEndian(target[12..], options.FuseIntoRing ? 1 : 0);
        BinaryPrimitives.WriteInt32LittleEndian(target[16..], (int)options.Generator);
    }

    private static string Describe(ReadOnlySpan<byte> o)
    {
        int bits = BinaryPrimitives.ReadInt32LittleEndian(o[4..]), k = BinaryPrimitives.ReadInt32LittleEndian(o[8..]);
        return $"ClipRange {BinaryPrimitives.ReadSingleLittleEndian(o)}, FractionalBits {(bits == -1 ? "auto" : bits)}, Neighbours {(k == -1 ? "all" : k)}, FuseIntoRing {BinaryPrimitives.ReadInt32LittleEndian(o[12..]) == 1}, Generator {(MaskGenerator)BinaryPrimitives.ReadInt32LittleEndian(o[16..])}";
    }
}
