using System.Numerics;
using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Suite;

/// <summary>
/// Runs a <see cref="CollectiveCase"/> on one rank and checks it: the result against <see cref="TestValues"/>'
/// sequential reference, inputs that must stay as they were, and (through an AllGather of a hash) that results every
/// rank holds are bitwise identical on every rank. Every rank must run the same cases in the same order.
/// </summary>
public static class CaseRunner
{
    /// <summary>Runs every case in order; returns this rank's failures.</summary>
    public static List<string> RunAll(Communicator comm, IEnumerable<CollectiveCase> cases)
    {
        var failures = new List<string>();
        foreach (var c in cases)
            if (Run(comm, c) is { } failure) failures.Add(failure);
        return failures;
    }

    /// <summary>Null when the case passed on this rank; else a message naming the rank, the case and the first wrong element.</summary>
    public static string? Run(Communicator comm, CollectiveCase c)
    {
        string? failure;
        ulong hash = 0;
        try
        {
            (failure, hash) = c.Type switch
            {
                ElementKind.Float => Run<float>(comm, c),
                ElementKind.Double => Run<double>(comm, c),
                ElementKind.Int => Run<int>(comm, c),
                ElementKind.Long => Run<long>(comm, c),
                ElementKind.Half => Run<Half>(comm, c),
                ElementKind.Byte => Run<byte>(comm, c),
                _ => throw new ArgumentOutOfRangeException(nameof(c), c.Type, null),
            };
            if (c.Refusal is not null) failure = $"was accepted, where a NotSupportedException saying '{c.Refusal}' was expected";
        }
        catch (NotSupportedException e) when (c.Refusal is not null)
        {
            failure = e.Message.Contains(c.Refusal) ? null : $"refused with '{e.Message}', which does not say '{c.Refusal}'";
        }

        var hashes = new long[comm.Size];
        comm.AllGather<long>([unchecked((long)hash)], hashes);
        if (failure is null && hashes[comm.Rank] != hashes[0]) failure = "the result differs bitwise from rank 0's";
        return failure is null ? null : $"rank {comm.Rank} of {comm.Size}: {c}: {failure}";
    }

    /// <summary>The failure, or null; and the hash of a result that every rank holds (0 where ranks hold different things).</summary>
    private static (string? Failure, ulong Hash) Run<T>(Communicator comm, CollectiveCase c) where T : unmanaged, INumber<T>
    {
        int n = comm.Size, rank = comm.Rank, count = c.Count;
        var options = c.Options;
        T[] Input(int r, int k) => TestValues.Input<T>(r, k, c.Op, c.Seed);
        string? Reduced(ReadOnlySpan<T> actual, long offset = 0) => TestValues.CheckReduced(actual, TestValues.Ranks(n), c.Op, c.Seed, offset);
        string? Kept(T[] input, int k) => TestValues.CheckEqual<T>(input, Input(rank, k)) is { } change ? $"the input changed: {change}" : null;

        switch (c.Collective)
        {
            case Collective.AllReduce:
            {
                var input = Input(rank, count);
                if (c.InPlace)
                {
                    comm.AllReduce<T>(input, c.Op, options);
                    return (Reduced(input), Hash(input));
                }
                var result = new T[count];
                comm.AllReduce<T>(input, result, c.Op, options);
                return (Kept(input, count) ?? Reduced(result), Hash(result));
            }
            case Collective.Broadcast:
            {
                var expected = Input(c.Root, count);
                var data = rank == c.Root ? expected.ToArray() : new T[count];
                comm.Broadcast<T>(data, c.Root, options);
                return (TestValues.CheckEqual<T>(data, expected), Hash(data));
            }
            case Collective.Reduce:
            {
                var input = Input(rank, count);
                if (c.InPlace)
                {
                    comm.Reduce<T>(input, c.Op, c.Root, options);
                    return (rank == c.Root ? Reduced(input) : Kept(input, count), 0); // non-roots keep their data
                }
                var result = rank == c.Root ? new T[count] : [];
                comm.Reduce<T>(input, result, c.Op, c.Root, options);
                return (Kept(input, count) ?? (rank == c.Root ? Reduced(result) : null), 0);
            }
            case Collective.AllGather:
            {
                var mine = Input(rank, count);
                var all = new T[count * n];
                if (c.InPlace)
                {
                    mine.CopyTo(all, count * rank);
                    comm.AllGather<T>(all.AsSpan(), options);
                }
                else comm.AllGather<T>(mine, all, options);
                var expected = Enumerable.Range(0, n).SelectMany(r => Input(r, count)).ToArray();
                return (TestValues.CheckEqual<T>(all, expected), Hash(all));
            }
            case Collective.ReduceScatter:
            {
                var input = Input(rank, count * n);
                if (c.InPlace)
                {
                    comm.ReduceScatter<T>(input.AsSpan(), c.Op, options);
                    return (Reduced(input.AsSpan(count * rank, count), offset: (long)count * rank), 0);
                }
                var result = new T[count];
                comm.ReduceScatter<T>(input, result, c.Op, options);
                return (Kept(input, count * n) ?? Reduced(result, offset: (long)count * rank), 0);
            }
            case Collective.Barrier:
                comm.Barrier(options);
                return (null, 0);
            default:
                throw new ArgumentOutOfRangeException(nameof(c), c.Collective, null);
        }
    }

    /// <summary>FNV-1a over 8-byte words, then the tail bytes: cheap enough for hundreds of megabytes.</summary>
    private static ulong Hash<T>(T[] data) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        ulong h = 14695981039346656037UL;
        foreach (ulong word in MemoryMarshal.Cast<byte, ulong>(bytes)) h = (h ^ word) * 1099511628211UL;
        foreach (byte b in bytes[(bytes.Length / 8 * 8)..]) h = (h ^ b) * 1099511628211UL;
        return h;
    }
}
