namespace Herald.Proxy.Activation;

/// <summary>
/// The result of <see cref="ActivationGate.AcquireAsync"/>. When <see cref="Outcome"/> is
/// <see cref="ActivationOutcome.Admitted"/> it holds one slot of the gate, freed by
/// <see cref="Dispose"/>; otherwise disposing does nothing. A struct, so admission allocates
/// nothing: dispose exactly one copy, once (the gate ignores releases beyond what it admitted,
/// but cannot tell which copy freed a slot).
/// </summary>
internal readonly struct ActivationLease : IDisposable, IEquatable<ActivationLease>
{
    private readonly ActivationGate? _gate;

    internal ActivationLease(ActivationGate? gate, ActivationOutcome outcome)
    {
        _gate = gate;
        Outcome = outcome;
    }

    public ActivationOutcome Outcome { get; }

    public static bool operator ==(ActivationLease left, ActivationLease right) => left.Equals(right);

    public static bool operator !=(ActivationLease left, ActivationLease right) => !left.Equals(right);

    public void Dispose() => _gate?.Release();

    public bool Equals(ActivationLease other) => ReferenceEquals(_gate, other._gate) && Outcome == other.Outcome;

    public override bool Equals(object? obj) => obj is ActivationLease other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_gate, Outcome);
}
