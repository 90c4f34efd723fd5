using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The predefined handles, constants and MPI_Status layout of one ABI, read off the installed mpi.h files (line numbers
/// cited; Debian/Ubuntu packages libmpich-dev 4.0.2 and libopenmpi-dev 4.1.x). Every handle is held as an
/// <see cref="nint"/>: an Open MPI handle is a pointer, an MPICH handle a C int, zero-extended so that the same value
/// read back from an out parameter compares equal (a C int passed in a 64-bit argument slot is read from its low half
/// on x86-64 SysV, so passing the nint is fine; out parameters are the place where widths differ, see
/// <see cref="HandleBytes"/>).
/// </summary>
internal sealed class MpiHandles
{
    public required MpiAbi Abi { get; init; }
    public required nint CommWorld { get; init; }
    public required nint CommNull { get; init; }
    public required nint RequestNull { get; init; }
    public required nint ErrorsReturn { get; init; }
    public required nint Byte { get; init; }
    public required nint Int32 { get; init; }
    public required nint Int64 { get; init; }
    public required nint Float { get; init; }
    public required nint Double { get; init; }
    public required nint OpSum { get; init; }
    public required nint OpProd { get; init; }
    public required nint OpMin { get; init; }
    public required nint OpMax { get; init; }
    public required nint OpBitwiseOr { get; init; }
    public required nint InPlace { get; init; }
    public required nint InfoNull { get; init; }
    public required int CommTypeShared { get; init; }
    public required int AnySource { get; init; }
    public required int AnyTag { get; init; }
    public required int Undefined { get; init; }
    public required int ErrTruncate { get; init; }

    /// <summary>Bytes an out parameter of handle type (MPI_Comm*, MPI_Request*) receives: 4 for MPICH, 8 for Open MPI.</summary>
    public required int HandleBytes { get; init; }

    /// <summary>sizeof(MPI_Status).</summary>
    public required int StatusBytes { get; init; }
    public required int StatusSourceOffset { get; init; }
    public required int StatusTagOffset { get; init; }
    public required int StatusErrorOffset { get; init; }

    /// <summary>
    /// MPICH's handles: /usr/include/x86_64-linux-gnu/mpich/mpi.h (MPICH 4.0.2). The values are part of the ABI that
    /// Intel MPI, MVAPICH and Cray MPICH share.
    /// </summary>
    public static MpiHandles Mpich { get; } = new()
    {
        Abi = MpiAbi.Mpich,
        CommWorld = H(0x44000000),      // mpi.h:279  #define MPI_COMM_WORLD ((MPI_Comm)0x44000000)
        CommNull = H(0x04000000),       // mpi.h:89   #define MPI_COMM_NULL ((MPI_Comm)0x04000000)
        RequestNull = H(0x2c000000),    // mpi.h:93   #define MPI_REQUEST_NULL ((MPI_Request)0x2c000000)
        ErrorsReturn = H(0x54000001),   // mpi.h:423  #define MPI_ERRORS_RETURN ((MPI_Errhandler)0x54000001)
        Byte = H(0x4c00010d),           // mpi.h:108  #define MPI_BYTE ((MPI_Datatype)0x4c00010d)
        Int32 = H(0x4c000439),          // mpi.h:225  #define MPI_INT32_T ((MPI_Datatype)0x4c000439)
        Int64 = H(0x4c00083a),          // mpi.h:226  #define MPI_INT64_T ((MPI_Datatype)0x4c00083a)
        Float = H(0x4c00040a),          // mpi.h:116  #define MPI_FLOAT ((MPI_Datatype)0x4c00040a)
        Double = H(0x4c00080b),         // mpi.h:117  #define MPI_DOUBLE ((MPI_Datatype)0x4c00080b)
        OpMax = H(0x58000001),          // mpi.h:305  #define MPI_MAX (MPI_Op)(0x58000001)
        OpMin = H(0x58000002),          // mpi.h:306  #define MPI_MIN (MPI_Op)(0x58000002)
        OpSum = H(0x58000003),          // mpi.h:307  #define MPI_SUM (MPI_Op)(0x58000003)
        OpProd = H(0x58000004),         // mpi.h:308  #define MPI_PROD (MPI_Op)(0x58000004)
        OpBitwiseOr = H(0x58000008),    // mpi.h:312  #define MPI_BOR (MPI_Op)(0x58000008)
        InPlace = -1,                   // mpi.h:542  #define MPI_IN_PLACE (void *) -1
        InfoNull = H(0x1c000000),       // mpi.h:529  #define MPI_INFO_NULL ((MPI_Info)0x1c000000)
        CommTypeShared = 1,             // mpi.h:552  #define MPI_COMM_TYPE_SHARED 1
        AnySource = -2,                 // mpi.h:391  #define MPI_ANY_SOURCE (-2)
        AnyTag = -1,                    // mpi.h:393  #define MPI_ANY_TAG (-1)
        Undefined = -32766,             // mpi.h:363  #define MPI_UNDEFINED (-32766)
        ErrTruncate = 14,               // mpi.h:827  #define MPI_ERR_TRUNCATE 14
        HandleBytes = 4,                // mpi.h:278,451  typedef int MPI_Comm; typedef int MPI_Request;
        // mpi.h:587-593  typedef struct MPI_Status { int count_lo; int count_hi_and_cancelled; int MPI_SOURCE;
        //                int MPI_TAG; int MPI_ERROR; } MPI_Status;
        StatusBytes = 20,
        StatusSourceOffset = 8,
        StatusTagOffset = 12,
        StatusErrorOffset = 16,
    };

    /// <summary>
    /// Open MPI's handles: /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h (Open MPI 4.1). Predefined handles are
    /// <c>OMPI_PREDEFINED_GLOBAL(type, global)</c> = <c>((type) &amp;(global))</c> (mpi.h:405): the address of an exported
    /// symbol of the library.
    /// </summary>
    public static MpiHandles OpenMpi(nint library) => new()
    {
        Abi = MpiAbi.OpenMpi,
        CommWorld = S(library, "ompi_mpi_comm_world"),       // mpi.h:1140  MPI_COMM_WORLD
        CommNull = S(library, "ompi_mpi_comm_null"),         // mpi.h:854   MPI_COMM_NULL
        RequestNull = S(library, "ompi_request_null"),       // mpi.h:855   MPI_REQUEST_NULL
        ErrorsReturn = S(library, "ompi_mpi_errors_return"), // mpi.h:1283  MPI_ERRORS_RETURN
        Byte = S(library, "ompi_mpi_byte"),                  // mpi.h:1164  MPI_BYTE
        Int32 = S(library, "ompi_mpi_int32_t"),              // mpi.h:1256  MPI_INT32_T
        Int64 = S(library, "ompi_mpi_int64_t"),              // mpi.h:1258  MPI_INT64_T
        Float = S(library, "ompi_mpi_float"),                // mpi.h:1170  MPI_FLOAT
        Double = S(library, "ompi_mpi_double"),              // mpi.h:1171  MPI_DOUBLE
        OpMax = S(library, "ompi_mpi_op_max"),               // mpi.h:1147  MPI_MAX
        OpMin = S(library, "ompi_mpi_op_min"),               // mpi.h:1148  MPI_MIN
        OpSum = S(library, "ompi_mpi_op_sum"),               // mpi.h:1149  MPI_SUM
        OpProd = S(library, "ompi_mpi_op_prod"),             // mpi.h:1150  MPI_PROD
        OpBitwiseOr = S(library, "ompi_mpi_op_bor"),         // mpi.h:1154  MPI_BOR
        InPlace = 1,                                         // mpi.h:518   #define MPI_IN_PLACE ((void *) 1)
        InfoNull = S(library, "ompi_mpi_info_null"),         // mpi.h:859   MPI_INFO_NULL
        CommTypeShared = 0,                                  // mpi.h:773-774  enum { MPI_COMM_TYPE_SHARED, ... }: 0
        AnySource = -1,                                      // mpi.h:498   #define MPI_ANY_SOURCE -1
        AnyTag = -1,                                         // mpi.h:501   #define MPI_ANY_TAG -1
        Undefined = -32766,                                  // mpi.h:506   #define MPI_UNDEFINED -32766
        ErrTruncate = 15,                                    // mpi.h:627   #define MPI_ERR_TRUNCATE 15
        HandleBytes = 8,                                     // mpi.h:419,426  typedef struct ompi_communicator_t *MPI_Comm; ... *MPI_Request;
        // mpi.h:438-450  struct ompi_status_public_t { int MPI_SOURCE; int MPI_TAG; int MPI_ERROR; int _cancelled;
        //                size_t _ucount; };  => 4 ints then an 8-byte size_t: 24 bytes.
        StatusBytes = 24,
        StatusSourceOffset = 0,
        StatusTagOffset = 4,
        StatusErrorOffset = 8,
    };

    /// <summary>The largest MPI_Status of both ABIs, for buffers shared by either.</summary>
    public const int MaxStatusBytes = 24;

    private static nint H(uint value) => (nint)value;

    private static nint S(nint library, string symbol) =>
        NativeLibrary.TryGetExport(library, symbol, out var address)
            ? address
            : throw new MpiUnavailableException($"The Open MPI library lacks the exported symbol '{symbol}' (the handle behind a predefined MPI constant); it is not an Open MPI 4.x/5.x libmpi.");
}
