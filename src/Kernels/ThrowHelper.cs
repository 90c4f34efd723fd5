using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>
/// The one place where argument checks throw, so every message names the bad argument and its value
/// in the same words (the TensorPrimitives pattern).
/// </summary>
internal static class ThrowHelper
{
    public static void ThrowIfNull([NotNull] object? value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value is null) throw new ArgumentNullException(name, $"{name} must not be null.");
    }

    public static void ThrowIfNegative(int value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be non-negative, but was {value}.");
    }

    public static void ThrowIfNotPositive(int value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, but was {value}.");
    }

    public static void ThrowIfNotFinite(float value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite, but was {value}.");
    }

    public static void ThrowIfNegativeOrNotFinite(float value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!float.IsFinite(value) || value < 0f)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and non-negative, but was {value}.");
    }

    public static void ThrowIfNotPositiveFinite(float value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!float.IsFinite(value) || value <= 0f)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and positive, but was {value}.");
    }

    public static void ThrowIfOutside(float value, float min, float max, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!(value >= min && value <= max))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [{min}, {max}], but was {value}.");
    }

    public static void ThrowIfOutside(int value, int min, int max, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [{min}, {max}], but was {value}.");
    }

    /// <summary>Throws unless <paramref name="length"/> equals <paramref name="expected"/>.</summary>
    public static void ThrowIfLengthMismatch(int length, long expected, string name, string expectation)
    {
        if (length != expected)
            throw new ArgumentException($"{name} has length {length}, but {expectation} = {expected}.", name);
    }

    /// <summary>Throws unless <paramref name="length"/> is at least <paramref name="required"/>.</summary>
    public static void ThrowIfTooShort(int length, long required, string name, string expectation)
    {
        if (length < required)
            throw new ArgumentException($"{name} has length {length}, but needs at least {expectation} = {required}.", name);
    }

    /// <summary>Throws when a product of dimensions does not fit a 32-bit length.</summary>
    public static long CheckedElements(int rows, int columns, string rowsName, string columnsName)
    {
        long n = (long)rows * columns;
        if (n > int.MaxValue)
            throw new ArgumentOutOfRangeException(rowsName, rows, $"{rowsName} x {columnsName} = {rows} x {columns} = {n} exceeds the largest buffer length {int.MaxValue}.");
        return n;
    }

    [DoesNotReturn]
    public static void ThrowOutOfRange(string name, object? value, string message) => throw new ArgumentOutOfRangeException(name, value, message);

    [DoesNotReturn]
    public static T ThrowDisposed<T>(string typeName) => throw new ObjectDisposedException(typeName);

    [DoesNotReturn]
    public static void ThrowArgument(string name, string message) => throw new ArgumentException(message, name);

    [DoesNotReturn]
    public static void ThrowNotSupported(string message) => throw new NotSupportedException(message);
}
