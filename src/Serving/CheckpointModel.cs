using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Serving;

/// <summary>
/// A Train.dll checkpoint (model.ckpt) served natively: its parameters in an <see cref="Mlp"/> on the kernel backend
/// of <c>--device</c> (the SIMD CPU path, or CUDA through ILGPU when present), with its own buffers, then the backend's
/// Softmax. The lock keeps direct callers (tests) safe, as the
/// buffers are shared.
/// </summary>
internal sealed class CheckpointModel : ServedModel
{
    /// <summary>The platform name reported in model metadata.</summary>
    public const string PlatformName = "allreducenet_mlp";

    /// <summary>The name of the model's one input tensor.</summary>
    public const string InputName = "input";

    private readonly object _gate = new();
    private readonly IKernelBackend _backend;
    private readonly Mlp _mlp;
    private readonly Activations _activations;
    private readonly DeviceBuffer<float> _input, _probabilities;

    public CheckpointModel(string name, string version, Checkpoint checkpoint, Preprocessing? preprocess = null, string device = "cpu")
        : base(name, version, preprocess)
    {
        Checkpoint = checkpoint;
        _backend = KernelBackends.Create(device);
        Device = _backend.Name;
        _mlp = new Mlp(_backend, checkpoint.LayerSizes);
        _mlp.WriteParameters(checkpoint.Parameters);
        _activations = _mlp.CreateActivations(ChunkRows);
        _input = _backend.Allocate<float>(ChunkRows * _mlp.InputSize);
        _probabilities = _backend.Allocate<float>(ChunkRows * _mlp.OutputSize);
        Input = new ModelTensor(InputName, "FP32", [-1, _mlp.InputSize]);
    }

    public override int InputSize => _mlp.InputSize;
    public override int Classes => _mlp.OutputSize;
    public override ModelTensor Input { get; }
    public override string Platform => PlatformName;

    /// <summary>The checkpoint served (the drift monitor runs its own copy for the penultimate activations).</summary>
    public Checkpoint Checkpoint { get; }

    /// <summary>The kernel backend the forward pass runs on ("cpu", "cuda", "ilgpu-cpu").</summary>
    public string Device { get; }

    protected override void Forward(ReadOnlyMemory<float> input, int rows, Span<float> probabilities)
    {
        lock (_gate)
        {
            _input.CopyFrom(input.Span);
            var logits = _mlp.Forward(_activations, _input, rows);
            _backend.Softmax(logits, _probabilities, rows, Classes);
            _probabilities.CopyTo(0, probabilities);
        }
    }

    public override void Dispose()
    {
        _input.Dispose();
        _probabilities.Dispose();
        _activations.Dispose();
        _mlp.Dispose();
        _backend.Dispose();
    }
}
