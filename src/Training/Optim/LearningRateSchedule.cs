namespace AllReduceNet.Training.Optim;

/// <summary>
/// The learning rate of each epoch: constant, or cosine decay from the base rate towards zero over the run
/// (epoch e of E uses base x (1 + cos(pi e / E)) / 2), which settles the last epochs and makes the final accuracy
/// steadier. The trainer sets the epoch; the optimizers read <see cref="Current"/> at every step.
/// </summary>
internal sealed class LearningRateSchedule
{
    private readonly float _baseRate;
    private readonly bool _cosine;
    private readonly int _epochs;

    public LearningRateSchedule(float baseRate, bool cosine, int epochs)
    {
        _baseRate = baseRate;
        _cosine = cosine;
        _epochs = epochs;
        Current = baseRate;
    }

    public float Current { get; private set; }

    public void SetEpoch(int epoch) =>
        Current = _cosine ? _baseRate * 0.5f * (1f + MathF.Cos(MathF.PI * epoch / _epochs)) : _baseRate;
}
