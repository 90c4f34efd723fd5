using System.Runtime.InteropServices;
using System.Text;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The thin binding: one loaded MPI library, its ABI's handles, and the few MPI functions the transport calls, as
/// unmanaged function pointers resolved with <see cref="NativeLibrary"/>. Nothing is loaded until
/// <see cref="MpiLibraryLoader.Load"/> runs, so the in-process transport works where no MPI is installed.
/// </summary>
/// <remarks>
/// When the library grants less than MPI_THREAD_MULTIPLE, every call goes through one lock (<see cref="Serialized"/>),
/// so several threads (user point-to-point, a progress thread) may still use MPI. MPI's blocking collectives
/// (MPI_Allreduce, MPI_Barrier, MPI_Comm_split, MPI_Comm_dup) hold the lock while they block, as the level requires.
/// MPI_Abort skips the lock: it must work while another thread is inside MPI.
/// </remarks>
internal sealed unsafe class MpiLibrary
{
    private readonly object _gate = new();

    private readonly delegate* unmanaged<int*, int> _initialized;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<nint, int*, int> _commRank;
    private readonly delegate* unmanaged<nint, int*, int> _commSize;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> _isend;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> _irecv;
    private readonly delegate* unmanaged<nint*, int*, byte*, int> _test;
    private readonly delegate* unmanaged<nint*, byte*, int> _wait;
    private readonly delegate* unmanaged<nint*, int> _cancel;
    private readonly delegate* unmanaged<byte*, int*, int> _testCancelled;
    private readonly delegate* unmanaged<byte*, nint, int*, int> _getCount;
    private readonly delegate* unmanaged<nint, int, int, nint*, int> _commSplit;
    private readonly delegate* unmanaged<nint, nint*, int> _commDup;
    private readonly delegate* unmanaged<nint*, int> _commFree;
    private readonly delegate* unmanaged<nint, nint, int> _commSetErrhandler;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<nint, int, int, nint, nint*, int> _commSplitType;
    private readonly delegate* unmanaged<nint, int, nint, nint, void**, nint*, int> _winAllocateShared;
    private readonly delegate* unmanaged<nint, int, nint*, int*, void**, int> _winSharedQuery;
    private readonly delegate* unmanaged<nint*, int> _winFree;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> _iallreduce;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<double> _wtime;
    private readonly delegate* unmanaged<byte*, int*, int> _getLibraryVersion;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly delegate* unmanaged<int, int*, int> _errorClass;

    internal MpiLibrary(string path, nint handle, MpiAbi abi)
    {
        Path = path;
        Handle = handle;
        Handles = abi == MpiAbi.OpenMpi ? MpiHandles.OpenMpi(handle) : MpiHandles.Mpich;
        _initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        _isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Isend");
        _irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Irecv");
        _test = (delegate* unmanaged<nint*, int*, byte*, int>)Export("MPI_Test");
        _wait = (delegate* unmanaged<nint*, byte*, int>)Export("MPI_Wait");
        _cancel = (delegate* unmanaged<nint*, int>)Export("MPI_Cancel");
        _testCancelled = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Test_cancelled");
        _getCount = (delegate* unmanaged<byte*, nint, int*, int>)Export("MPI_Get_count");
        _commSplit = (delegate* unmanaged<nint, int, int, nint*, int>)Export("MPI_Comm_split");
        _commDup = (delegate* unmanaged<nint, nint*, int>)Export("MPI_Comm_dup");
        _commFree = (delegate* unmanaged<nint*, int>)Export("MPI_Comm_free");
        _commSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler");
        _barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        _commSplitType = (delegate* unmanaged<nint, int, int, nint, nint*, int>)Export("MPI_Comm_split_type");
        _winAllocateShared = (delegate* unmanaged<nint, int, nint, nint, void**, nint*, int>)Export("MPI_Win_allocate_shared");
        _winSharedQuery = (delegate* unmanaged<nint, int, nint*, int*, void**, int>)Export("MPI_Win_shared_query");
        _winFree = (delegate* unmanaged<nint*, int>)Export("MPI_Win_free");
        _allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        _iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Export("MPI_Iallreduce");
        _abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        _wtime = (delegate* unmanaged<double>)Export("MPI_Wtime");
        _getLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        _errorClass = (delegate* unmanaged<int, int*, int>)Export("MPI_Error_class");
        Version = ReadLibraryVersion();
    }

    /// <summary>The file that was loaded.</summary>
    public string Path { get; }

    /// <summary>The handle <see cref="NativeLibrary.Load(string)"/> returned.</summary>
    public nint Handle { get; }

    /// <summary>The ABI's predefined handles, constants and status layout.</summary>
    public MpiHandles Handles { get; }

    public MpiAbi Abi => Handles.Abi;

    /// <summary>MPI_Get_library_version's full text.</summary>
    public string Version { get; }

    /// <summary>A short name such as "MPICH 4.0.2" or "Open MPI v4.1.4", for transport names and logs.</summary>
    public string ShortName => ShortenVersion(Version, Abi);

    /// <summary>True when the library granted less than MPI_THREAD_MULTIPLE (or it is unknown), so every call takes <see cref="_gate"/>.</summary>
    public bool Serialized { get; private set; } = true;

    /// <summary>The level MPI_Init_thread granted; null when other code initialized MPI.</summary>
    public MpiThreadLevel? ThreadLevel { get; private set; }

    /// <summary>Set once MPI_Finalize ran: from then on no MPI call may be made (communicators refuse, Dispose skips MPI_Comm_free).</summary>
    public volatile bool IsFinalized;

    // ---- the calls; each returns MPI's error code, checked by the caller with Check ------------------------------

    public int Initialized(out bool initialized) { int f; int rc; using (Enter()) rc = _initialized(&f); initialized = f != 0; return rc; }

    public int Finalized(out bool finalized) { int f; int rc; using (Enter()) rc = _finalized(&f); finalized = f != 0; return rc; }

    /// <summary>MPI_Init_thread; records the granted level, and serializes every later call unless it is MPI_THREAD_MULTIPLE.</summary>
    public int InitThread(MpiThreadLevel required)
    {
        int provided = 0; int rc;
        using (Enter()) rc = _initThread(null, null, (int)required, &provided);
        if (rc != 0) return rc;
        ThreadLevel = (MpiThreadLevel)provided;
        Serialized = provided < (int)MpiThreadLevel.Multiple;
        return rc;
    }

    public int Finalize() { using (Enter()) return _finalize(); }

    public int CommRank(nint comm, out int rank) { int r; int rc; using (Enter()) rc = _commRank(comm, &r); rank = r; return rc; }

    public int CommSize(nint comm, out int size) { int s; int rc; using (Enter()) rc = _commSize(comm, &s); size = s; return rc; }

    public int Isend(void* data, int bytes, int destination, int tag, nint comm, out nint request)
    {
        nint slot = 0; int rc;
        using (Enter()) rc = _isend(data, bytes, Handles.Byte, destination, tag, comm, &slot);
        request = ReadHandle(slot);
        return rc;
    }

    public int Irecv(void* data, int capacity, int source, int tag, nint comm, out nint request)
    {
        nint slot = 0; int rc;
        using (Enter()) rc = _irecv(data, capacity, Handles.Byte, source, tag, comm, &slot);
        request = ReadHandle(slot);
        return rc;
    }

    /// <summary>MPI_Test; <paramref name="request"/> becomes MPI_REQUEST_NULL when MPI freed it. <paramref name="status"/> holds <see cref="MpiHandles.MaxStatusBytes"/>.</summary>
    public int Test(ref nint request, out bool completed, byte* status)
    {
        nint slot = request; int flag = 0; int rc;
        using (Enter()) rc = _test(&slot, &flag, status);
        request = ReadHandle(slot);
        completed = flag != 0;
        return rc;
    }

    /// <summary>
    /// MPI_Wait: blocks with no timeout, so it is only called where the standard makes it local (a receive after
    /// MPI_Cancel: MPI-4.0 section 3.8.4, "MPI_WAIT behaves as a local function").
    /// </summary>
    public int Wait(ref nint request, byte* status)
    {
        nint slot = request; int rc;
        using (Enter()) rc = _wait(&slot, status);
        request = ReadHandle(slot);
        return rc;
    }

    public int Cancel(nint request) { using (Enter()) return _cancel(&request); }

    public int TestCancelled(byte* status, out bool cancelled) { int f = 0; int rc; using (Enter()) rc = _testCancelled(status, &f); cancelled = f != 0; return rc; }

    /// <summary>MPI_Get_count in bytes (MPI_BYTE); MPI_UNDEFINED when it does not fit an int.</summary>
    public int GetByteCount(byte* status, out int bytes) { int c = 0; int rc; using (Enter()) rc = _getCount(status, Handles.Byte, &c); bytes = c; return rc; }

    public int CommSplit(nint comm, int color, int key, out nint newComm)
    {
        nint slot = 0; int rc;
        using (Enter()) rc = _commSplit(comm, color, key, &slot);
        newComm = ReadHandle(slot);
        return rc;
    }

    public int CommDup(nint comm, out nint newComm)
    {
        nint slot = 0; int rc;
        using (Enter()) rc = _commDup(comm, &slot);
        newComm = ReadHandle(slot);
        return rc;
    }

    public int CommFree(nint comm) { using (Enter()) return _commFree(&comm); }

    public int CommSetErrorsReturn(nint comm) { using (Enter()) return _commSetErrhandler(comm, Handles.ErrorsReturn); }

    public int Barrier(nint comm) { using (Enter()) return _barrier(comm); }

    /// <summary>MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, key, MPI_INFO_NULL): the ranks that can share memory with this one.</summary>
    public int CommSplitShared(nint comm, int key, out nint nodeComm)
    {
        nint slot = 0; int rc;
        using (Enter()) rc = _commSplitType(comm, Handles.CommTypeShared, key, Handles.InfoNull, &slot);
        nodeComm = ReadHandle(slot);
        return rc;
    }

    /// <summary>MPI_Win_allocate_shared of <paramref name="bytes"/> bytes (disp_unit 1, MPI_INFO_NULL); collective over <paramref name="comm"/>.</summary>
    public int WinAllocateShared(long bytes, nint comm, out byte* baseAddress, out nint window)
    {
        void* address = null; nint slot = 0; int rc;
        using (Enter()) rc = _winAllocateShared((nint)bytes, 1, Handles.InfoNull, comm, &address, &slot);
        baseAddress = (byte*)address;
        window = ReadHandle(slot);
        return rc;
    }

    /// <summary>MPI_Win_shared_query: where <paramref name="rank"/>'s part of the window is mapped in this process.</summary>
    public int WinSharedQuery(nint window, int rank, out long bytes, out byte* baseAddress)
    {
        nint size = 0; int unit = 0; void* address = null; int rc;
        using (Enter()) rc = _winSharedQuery(window, rank, &size, &unit, &address);
        bytes = size;
        baseAddress = (byte*)address;
        return rc;
    }

    public int WinFree(nint window) { using (Enter()) return _winFree(&window); }

    /// <summary>MPI_Allreduce, blocking: for the transport's own set-up agreements, never for a user's data.</summary>
    public int Allreduce(void* send, void* receive, int count, nint datatype, nint op, nint comm)
    {
        using (Enter()) return _allreduce(send, receive, count, datatype, op, comm);
    }

    /// <summary>MPI_Iallreduce (MPI-3): the library's own AllReduce, started; the request is tested like a point-to-point one.</summary>
    public int Iallreduce(void* send, void* receive, int count, nint datatype, nint op, nint comm, out nint request)
    {
        nint slot = 0; int rc;
        using (Enter()) rc = _iallreduce(send, receive, count, datatype, op, comm, &slot);
        request = ReadHandle(slot);
        return rc;
    }

    /// <summary>MPI_Abort without the lock: it must work while another thread is inside MPI.</summary>
    public int Abort(nint comm, int code) => _abort(comm, code);

    public double Wtime() { using (Enter()) return _wtime(); }

    /// <summary>Throws <see cref="MpiException"/> naming the call, the rank and MPI's own text when <paramref name="rc"/> is not MPI_SUCCESS.</summary>
    public void Check(int rc, string call, int rank)
    {
        if (rc != 0) throw Error(rc, call, rank);
    }

    public MpiException Error(int rc, string call, int rank)
    {
        int errorClass = ErrorClass(rc);
        return new($"rank {rank}: {call} failed in {ShortName} ({Path}): {ErrorText(rc)} (error code {rc}, class {errorClass}).", rc, errorClass);
    }

    /// <summary>MPI_Error_class, or the code itself when that fails.</summary>
    public int ErrorClass(int rc)
    {
        int cls = rc;
        using (Enter()) return _errorClass(rc, &cls) == 0 ? cls : rc;
    }

    /// <summary>MPI_Error_string (both ABIs' MPI_MAX_ERROR_STRING are at most 512: MPICH mpi.h:356, Open MPI mpi.h:85).</summary>
    public string ErrorText(int rc)
    {
        byte* text = stackalloc byte[1024];
        int length = 0;
        using (Enter())
            if (_errorString(rc, text, &length) != 0 || length <= 0) return "unknown MPI error";
        return Encoding.UTF8.GetString(text, Math.Min(length, 1023)).TrimEnd('\0', ' ', '\n');
    }

    private string ReadLibraryVersion()
    {
        // MPI_MAX_LIBRARY_VERSION_STRING: 8192 in MPICH (mpi.h:355), 256 in Open MPI (mpi.h:505).
        var text = new byte[8192 + 1];
        int length = 0;
        fixed (byte* p = text)
            if (_getLibraryVersion(p, &length) != 0 || length <= 0) return Abi == MpiAbi.OpenMpi ? "Open MPI" : "MPICH-ABI MPI";
        return Encoding.UTF8.GetString(text, 0, Math.Min(length, 8192)).TrimEnd('\0', ' ', '\n');
    }

    internal static string ShortenVersion(string version, MpiAbi abi)
    {
        var firstLine = version.Split('\n')[0].Trim();
        // MPICH: "MPICH Version:\t4.0.2"; Open MPI: "Open MPI v4.1.4, package: ..."; Intel: "Intel(R) MPI Library 2021.10 for Linux* OS".
        if (firstLine.StartsWith("MPICH Version:", StringComparison.Ordinal))
            return "MPICH " + firstLine["MPICH Version:".Length..].Trim();
        int comma = firstLine.IndexOf(',');
        var name = comma > 0 ? firstLine[..comma] : firstLine;
        return name.Length > 0 ? name : abi == MpiAbi.OpenMpi ? "Open MPI" : "MPICH-ABI MPI";
    }

    /// <summary>MPICH writes a 4-byte int into the 8-byte zeroed slot; keep only those bytes, zero-extended.</summary>
    private nint ReadHandle(nint slot) => Handles.HandleBytes == 4 ? (nint)(uint)slot : slot;

    private nint Export(string name) =>
        NativeLibrary.TryGetExport(Handle, name, out var address)
            ? address
            : throw new MpiUnavailableException($"{Path} does not export {name}, which the MPI binding needs: it is not an MPI-3 library of the {Abi} ABI. {MpiLibraryLoader.InstallHint}");

    private GateScope Enter() => new(Serialized ? _gate : null);

    /// <summary>Holds the global MPI lock for one call when the library is not thread-safe.</summary>
    private readonly ref struct GateScope
    {
        private readonly object? _gate;

        public GateScope(object? gate)
        {
            _gate = gate;
            if (gate is not null) Monitor.Enter(gate);
        }

        public void Dispose()
        {
            if (_gate is not null) Monitor.Exit(_gate);
        }
    }
}
