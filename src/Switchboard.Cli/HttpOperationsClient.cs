using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Operations;

namespace Switchboard.Cli;

/// <summary>Works through a running app's dashboard JSON API (<c>--url http://host/switchboard</c>).</summary>
internal sealed class HttpOperationsClient : IOperationsClient
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private readonly HttpClient _http;
    private Session? _session;

    public HttpOperationsClient(Uri dashboard, HttpMessageHandler? handler = null)
    {
        string text = dashboard.ToString();
        Uri baseAddress = new(text.EndsWith('/') ? text : text + "/");
        _http = new HttpClient(handler ?? new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = baseAddress };
    }

    public async Task<IReadOnlyList<DestinationStatus>> StatusAsync(CancellationToken cancellationToken)
        => (await GetAsync<Overview>("api/overview", cancellationToken).ConfigureAwait(false)).Sources;

    public Task<ViewPage> ListAsync(string source, DeadLetterQuery query, CancellationToken cancellationToken)
    {
        List<string> parts = [$"source={Uri.EscapeDataString(source)}", $"pageSize={query.PageSize.ToString(CultureInfo.InvariantCulture)}"];
        Add(parts, "messageType", query.MessageType);
        Add(parts, "exceptionType", query.ExceptionType);
        Add(parts, "text", query.Text);
        Add(parts, "from", query.From?.ToString("O", CultureInfo.InvariantCulture));
        Add(parts, "to", query.To?.ToString("O", CultureInfo.InvariantCulture));
        Add(parts, "cursor", query.Cursor);
        return GetAsync<ViewPage>("api/dead-letters?" + string.Join('&', parts), cancellationToken);
    }

    public Task<DeadLetterView> ShowAsync(string source, string id, CancellationToken cancellationToken)
        => GetAsync<DeadLetterView>($"api/dead-letters/message?source={Uri.EscapeDataString(source)}&id={Uri.EscapeDataString(id)}", cancellationToken);

    /// <summary>
    /// Runs the replay or delete as a job of the app (<c>api/jobs</c>) and follows its progress; cancelling asks the app to
    /// stop after the current message, then waits for what it did.
    /// </summary>
    public async Task<DeadLetterBulkResult> SettleAsync(string source, IReadOnlyList<string>? ids, DeadLetterQuery filter, bool replay, Action<DeadLetterProgress>? progress, CancellationToken cancellationToken)
    {
        _session ??= await GetAsync<Session>("api/session", cancellationToken).ConfigureAwait(false);
        Job job;
        using (HttpRequestMessage request = Post("api/jobs", new
        {
            action = replay ? "replay" : "delete",
            source,
            ids,
            matching = ids is null,
            filter = ids is null ? new { filter.MessageType, filter.ExceptionType, filter.Text, filter.From, filter.To } : null,
        }))
        {
            // Not cancelled half-way: a job the app started is always followed (and cancelled) by its id.
            using HttpResponseMessage response = await _http.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            job = await ReadAsync<Job>(response, CancellationToken.None).ConfigureAwait(false);
        }

        string path = "api/jobs/" + Uri.EscapeDataString(job.Id);
        bool cancelSent = false;
        while (!job.IsFinished)
        {
            progress?.Invoke(new DeadLetterProgress(job.Total, job.Done, job.Succeeded));
            if (cancellationToken.IsCancellationRequested && !cancelSent)
            {
                // Ctrl+C: the app stops after the message it is settling; what it settled stays settled.
                using HttpRequestMessage cancel = Post(path + "/cancel", new { });
                using HttpResponseMessage cancelled = await _http.SendAsync(cancel, CancellationToken.None).ConfigureAwait(false);
                job = await ReadAsync<Job>(cancelled, CancellationToken.None).ConfigureAwait(false);
                cancelSent = true;
                continue;
            }

            try
            {
                // After the cancel was sent, keep following the job until it says what it did.
                await Task.Delay(PollInterval, TimeProvider.System, cancelSent ? CancellationToken.None : cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                continue;
            }

            job = await GetAsync<Job>(path, CancellationToken.None).ConfigureAwait(false);
        }

        progress?.Invoke(new DeadLetterProgress(job.Total, job.Done, job.Succeeded));
        if (job.State == "failed")
        {
            throw new InvalidOperationException($"The {job.Action} stopped after {job.Succeeded} of {job.Total}: {job.Error}");
        }

        return new DeadLetterBulkResult(job.Total, job.Succeeded, job.Missing, Cancelled: job.State == "cancelled");
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private HttpRequestMessage Post(string path, object body)
    {
        HttpRequestMessage request = new(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: CliJson.Options) };
        request.Headers.Add(_session!.AntiforgeryHeader, _session.AntiforgeryToken);
        return request;
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return await response.Content.ReadFromJsonAsync<T>(CliJson.Options, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The dashboard answered with an empty body.");
        }

        string detail = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            if (problem.RootElement.TryGetProperty("detail", out JsonElement text))
            {
                detail = text.GetString() ?? detail;
            }
        }
        catch (JsonException)
        {
            // Not the dashboard's problem body: keep the status line.
        }

        throw response.StatusCode switch
        {
            HttpStatusCode.NotFound => new CliNotFoundException(detail),
            HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized => new CliRefusedException(detail),
            HttpStatusCode.BadRequest => new CliUsageException(detail),
            _ => new InvalidOperationException(detail),
        };
    }

    private static void Add(List<string> parts, string name, string? value)
    {
        if (value is not null)
        {
            parts.Add($"{name}={Uri.EscapeDataString(value)}");
        }
    }

    private sealed record Overview(IReadOnlyList<DestinationStatus> Sources);

    private sealed record Session(string AntiforgeryToken, string AntiforgeryHeader, bool ReadOnly);

    /// <summary>A job of the dashboard (<c>api/jobs</c>).</summary>
    private sealed record Job(string Id, string Action, string State, int Total, int Done, int Succeeded, int Missing, string? Error)
    {
        public bool IsFinished => State is "completed" or "cancelled" or "failed";
    }
}
