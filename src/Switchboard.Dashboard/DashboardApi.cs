using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Operations;

namespace Switchboard.Dashboard;

/// <summary>The dashboard's endpoints: the page, its files and the JSON API over <see cref="SwitchboardOperations"/>.</summary>
internal sealed partial class DashboardApi(SwitchboardDashboardOptions options, string prefix)
{
    internal static readonly JsonSerializerOptions Json = CreateJson();

    private SwitchboardOperations? _operations;

    public IResult Index(HttpContext context)
    {
        string basePath = context.Request.PathBase.Add(new PathString(prefix)).Value + "/";
        string html = DashboardAssets.IndexHtml
            .Replace("{{base}}", WebUtility.HtmlEncode(basePath), StringComparison.Ordinal)
            .Replace("{{title}}", WebUtility.HtmlEncode(options.Title), StringComparison.Ordinal);
        SecurityHeaders(context.Response);
        return Results.Content(html, "text/html; charset=utf-8");
    }

    public static IResult Asset(HttpContext context, string name)
    {
        if (!DashboardAssets.TryGet(name, out byte[] content, out string contentType) || name == "index.html")
        {
            return Results.NotFound();
        }

        SecurityHeaders(context.Response);
        return Results.Bytes(content, contentType);
    }

    public IResult Session(HttpContext context)
    {
        IAntiforgery antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        AntiforgeryTokenSet tokens = antiforgery.GetAndStoreTokens(context);
        NoStore(context.Response);
        return Results.Json(
            new SessionView(tokens.RequestToken ?? string.Empty, tokens.HeaderName ?? "RequestVerificationToken", options.ReadOnly, !HasPolicy(context), options.Title),
            Json);
    }

    public async Task<IResult> OverviewAsync(HttpContext context, CancellationToken cancellationToken)
    {
        SwitchboardOperations operations = GetOperations(context.RequestServices);
        IReadOnlyList<DestinationStatus> sources = await operations.GetOverviewAsync(cancellationToken).ConfigureAwait(false);
        List<HealthView> health = [];
        if (context.RequestServices.GetService<HealthCheckService>() is { } checks)
        {
            HealthReport report = await checks.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            foreach ((string name, HealthReportEntry entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                // The status only: descriptions and exceptions of other libraries' checks may name hosts or users.
                health.Add(new HealthView(name, entry.Status.ToString()));
            }
        }

        NoStore(context.Response);
        return Results.Json(new OverviewView(sources, health, TimeProvider.System.GetUtcNow()), Json);
    }

    public async Task<IResult> ListAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (!TryGetSource(context, out OperationsSource? source, out IResult? error) || !TryReadQuery(context.Request.Query, out DeadLetterQuery? query, out error))
        {
            return error!;
        }

        DeadLetterPage page;
        try
        {
            page = await source!.DeadLetters.BrowseAsync(query!, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, ex.Message);
        }

        NoStore(context.Response);
        return Results.Json(
            new DeadLetterPageView(source.Id, [.. page.Items.Select(m => DeadLetterView.Create(source, m, details: false))], page.NextCursor, page.Total),
            Json);
    }

    public async Task<IResult> ShowAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (!TryGetSource(context, out OperationsSource? source, out IResult? error))
        {
            return error!;
        }

        string? id = context.Request.Query["id"];
        if (string.IsNullOrEmpty(id))
        {
            return Problem(StatusCodes.Status400BadRequest, "The query parameter 'id' is required.");
        }

        Transport.DeadLetterMessage? message = await source!.DeadLetters.FindAsync(id, cancellationToken).ConfigureAwait(false);
        NoStore(context.Response);
        return message is null
            ? Problem(StatusCodes.Status404NotFound, $"No dead letter '{id}' in {source.Id} (replayed or deleted meanwhile?).")
            : Results.Json(DeadLetterView.Create(source, message, details: true), Json);
    }

    public async Task<IResult> SettleAsync(HttpContext context, bool replay, CancellationToken cancellationToken)
    {
        (OperationsSource? source, SettleRequest? request, IResult? error) = await ReadSettleAsync(context, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        OperationsSource found = source!;
        IReadOnlyCollection<string> ids = await SelectAsync(found, request!, cancellationToken).ConfigureAwait(false);
        // Client gone: stop after the current message; what was settled stays settled.
        DeadLetterBulkResult result = replay
            ? await found.DeadLetters.ReplayManyAsync(ids, null, cancellationToken).ConfigureAwait(false)
            : await found.DeadLetters.DeleteManyAsync(ids, null, cancellationToken).ConfigureAwait(false);
        NoStore(context.Response);
        return Results.Json(result, Json);
    }

    /// <summary>The checks every state-changing request passes (read-only, anti-forgery), then its body and source.</summary>
    private async Task<(OperationsSource? Source, SettleRequest? Request, IResult? Error)> ReadSettleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (await CheckWriteAsync(context).ConfigureAwait(false) is { } refused)
        {
            return (null, null, refused);
        }

        SettleRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync<SettleRequest>(Json, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return (null, null, Problem(StatusCodes.Status400BadRequest, $"The request body is not valid JSON: {ex.Message}"));
        }

        if (request is null || string.IsNullOrEmpty(request.Source))
        {
            return (null, null, Problem(StatusCodes.Status400BadRequest, "The body needs 'source' and either 'ids' or 'matching': true (with an optional 'filter')."));
        }

        OperationsSource? source = GetOperations(context.RequestServices).FindSource(request.Source);
        if (source is null)
        {
            return (null, null, Problem(StatusCodes.Status404NotFound, $"No source '{request.Source}'."));
        }

        if (request.Ids is not { Length: > 0 } && !request.Matching)
        {
            return (null, null, Problem(StatusCodes.Status400BadRequest, "Say which dead letters: 'ids' (one or more), or 'matching': true to take every one that passes 'filter'."));
        }

        return (source, request, null);
    }

    /// <summary>Refuses a state-changing request in read-only mode or without a valid anti-forgery token.</summary>
    private async Task<IResult?> CheckWriteAsync(HttpContext context)
    {
        if (options.ReadOnly)
        {
            return Problem(StatusCodes.Status403Forbidden, "The dashboard is read-only: replay and delete are switched off.");
        }

        IAntiforgery antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
            return null;
        }
        catch (AntiforgeryValidationException)
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing or invalid anti-forgery token: reload the page (or GET api/session first).");
        }
    }

    /// <summary>The ids a request names, or a snapshot of those matching its filter (at most <see cref="SwitchboardDashboardOptions.BulkLimit"/>).</summary>
    private async Task<IReadOnlyCollection<string>> SelectAsync(OperationsSource source, SettleRequest request, CancellationToken cancellationToken)
    {
        if (request.Ids is { Length: > 0 } explicitIds)
        {
            return explicitIds;
        }

        DeadLetterQuery query = (request.Filter ?? new FilterView()).ToQuery() with { ScanLimit = options.BulkLimit };
        return await source.DeadLetters.SelectIdsAsync(query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Without an authorization policy on the endpoints, only loopback callers get an answer.</summary>
    public static async ValueTask<object?> GuardAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        HttpContext http = context.HttpContext;
        if (!HasPolicy(http) && !IsLoopback(http.Connection.RemoteIpAddress))
        {
            return Problem(
                StatusCodes.Status403Forbidden,
                "The Switchboard dashboard answers only local requests until it requires authorization: MapSwitchboardDashboard(...).RequireAuthorization(\"policy\").");
        }

        return await next(context).ConfigureAwait(false);
    }

    private static bool HasPolicy(HttpContext context)
    {
        Endpoint? endpoint = context.GetEndpoint();
        return endpoint is not null
            && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null
            && endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Count > 0;
    }

    private static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private SwitchboardOperations GetOperations(IServiceProvider services)
    {
        if (_operations is { } operations)
        {
            return operations;
        }

        operations = options.Operations is { } factory
            ? factory(services)
            : services.GetRequiredService<IMessageBus>().GetOperations(options.ExtraSources);
        return Interlocked.CompareExchange(ref _operations, operations, null) ?? operations;
    }

    private bool TryGetSource(HttpContext context, out OperationsSource? source, out IResult? error)
    {
        string? id = context.Request.Query["source"];
        SwitchboardOperations operations = GetOperations(context.RequestServices);
        source = string.IsNullOrEmpty(id) ? null : operations.FindSource(id);
        error = source is not null ? null
            : string.IsNullOrEmpty(id) ? Problem(StatusCodes.Status400BadRequest, "The query parameter 'source' is required (see api/overview for the sources).")
            : Problem(StatusCodes.Status404NotFound, $"No source '{id}'.");
        return source is not null;
    }

    private static bool TryReadQuery(IQueryCollection query, out DeadLetterQuery? result, out IResult? error)
    {
        result = null;
        error = null;
        int pageSize = 50;
        if (query["pageSize"] is { Count: > 0 } size && (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > 500))
        {
            error = Problem(StatusCodes.Status400BadRequest, "'pageSize' must be a number from 1 to 500.");
            return false;
        }

        if (!TryDate(query, "from", out DateTimeOffset? from, out error) || !TryDate(query, "to", out DateTimeOffset? to, out error))
        {
            return false;
        }

        result = new DeadLetterQuery
        {
            MessageType = NullIfEmpty(query["messageType"]),
            ExceptionType = NullIfEmpty(query["exceptionType"]),
            Text = NullIfEmpty(query["text"]),
            From = from,
            To = to,
            PageSize = pageSize,
            Cursor = NullIfEmpty(query["cursor"]),
        };
        return true;
    }

    private static bool TryDate(IQueryCollection query, string name, out DateTimeOffset? value, out IResult? error)
    {
        value = null;
        error = null;
        string? text = query[name];
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset parsed))
        {
            value = parsed;
            return true;
        }

        error = Problem(StatusCodes.Status400BadRequest, $"'{name}' must be a date and time (ISO 8601).");
        return false;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static IResult Problem(int status, string detail) => Results.Json(new ProblemView(status, detail), Json, statusCode: status);

    private static void NoStore(HttpResponse response) => response.Headers.CacheControl = "no-store";

    private static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'self'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        NoStore(response);
    }

    private static JsonSerializerOptions CreateJson()
    {
        JsonSerializerOptions json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        json.MakeReadOnly(populateMissingResolver: true);
        return json;
    }
}

internal sealed record SessionView(string AntiforgeryToken, string AntiforgeryHeader, bool ReadOnly, bool LoopbackOnly, string Title);

internal sealed record HealthView(string Name, string Status);

internal sealed record OverviewView(IReadOnlyList<DestinationStatus> Sources, IReadOnlyList<HealthView> Health, DateTimeOffset GeneratedAt);

internal sealed record DeadLetterPageView(string Source, IReadOnlyList<DeadLetterView> Items, string? NextCursor, long Total);

internal sealed record ProblemView(int Status, string Detail);

internal sealed record SettleRequest(string? Source, string[]? Ids, bool Matching, FilterView? Filter, string? Action = null);

internal sealed record FilterView(string? MessageType = null, string? ExceptionType = null, string? Text = null, DateTimeOffset? From = null, DateTimeOffset? To = null)
{
    public DeadLetterQuery ToQuery() => new() { MessageType = MessageType, ExceptionType = ExceptionType, Text = Text, From = From, To = To };
}
