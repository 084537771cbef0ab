namespace Switchboard;

/// <summary>How a message received from a transport is retried after its handler fails, before it is dead-lettered.</summary>
public sealed class RetryOptions
{
    /// <summary>How many deliveries in all, the first included, before the message is dead-lettered.</summary>
    /// <value>The default value is 4 (the first attempt and 3 retries, seed 001's <c>max_retries=3</c>).</value>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>The delay before the first retry.</summary>
    /// <value>The default value is 200 ms.</value>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How much each further delay grows.</summary>
    /// <value>The default value is 2 (exponential back-off).</value>
    public double BackoffFactor { get; set; } = 2.0;

    /// <summary>The longest delay.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether to spread each delay randomly by up to ±20 % so that failed consumers do not retry in lockstep.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Jitter { get; set; } = true;

    /// <summary>Returns the delay before the retry that follows delivery number <paramref name="attempt"/>.</summary>
    /// <param name="attempt">The delivery that failed, 1 for the first.</param>
    /// <returns>The delay.</returns>
    /// <remarks>The bus's one back-off formula: <c>min(InitialDelay × BackoffFactor^(attempt − 1), MaxDelay)</c>, ±20 % with <see cref="Jitter"/>.</remarks>
    public TimeSpan GetDelay(int attempt) => Backoff.Delay(InitialDelay, BackoffFactor, MaxDelay, attempt, Jitter);

    internal void Validate()
    {
        if (MaxAttempts < 1)
        {
            throw new BusConfigurationException($"RetryOptions.MaxAttempts must be at least 1 (it is {MaxAttempts}); 1 means no retry.");
        }

        if (InitialDelay < TimeSpan.Zero || MaxDelay < TimeSpan.Zero)
        {
            throw new BusConfigurationException("RetryOptions delays cannot be negative.");
        }

        if (BackoffFactor < 1)
        {
            throw new BusConfigurationException($"RetryOptions.BackoffFactor must be at least 1 (it is {BackoffFactor}).");
        }
    }
}
