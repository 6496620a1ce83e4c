import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { Alert } from "../api/types";
import { mergeAlerts } from "../lib/alerts";
import { refusal, signedIn } from "../test-bridge";
import { AlertReview } from "./AlertReview";

const OFFICER = { user_id: "o1", username: "officer", roles: ["ROLE_RISK_OFFICER"] };
const SPOOF: Alert = { alert_id: "7", kind: "ALERT_KIND_SPOOFING", status: "ALERT_STATUS_OPEN", review_count: 0 };

describe("AlertReview", () => {
  it("takes an open alert under review, then dismisses it only with a note", async () => {
    let current: Alert = SPOOF;
    const { session, calls } = await signedIn(
      {
        "POST /api/risk/alerts/7:resolve": (call) => {
          const body = JSON.parse(call.body) as { status: Alert["status"]; note: string };
          current = { ...current, status: body.status, review_note: body.note, reviewer_user_id: "o1", review_count: (current.review_count ?? 0) + 1 };
          return [200, { alert: current, reviews: [] }];
        },
      },
      OFFICER,
    );
    const reviewed: Alert[] = [];
    const { rerender } = render(<AlertReview session={session} alert={current} onReviewed={(alert) => reviewed.push(alert)} />);
    const form = screen.getByRole("form", { name: "review alert 7" });
    expect(within(form).getByLabelText("Status")).toHaveValue("ALERT_STATUS_UNDER_REVIEW");
    fireEvent.click(within(form).getByRole("button", { name: "Review" }));
    await waitFor(() => expect(reviewed).toHaveLength(1));
    expect(JSON.parse(calls[0]?.body ?? "{}")).toEqual({ status: "ALERT_STATUS_UNDER_REVIEW", note: "" });
    expect(reviewed[0]?.status).toBe("ALERT_STATUS_UNDER_REVIEW");

    rerender(<AlertReview key="again" session={session} alert={current} onReviewed={(alert) => reviewed.push(alert)} />);
    const again = screen.getByRole("form", { name: "review alert 7" });
    fireEvent.change(within(again).getByLabelText("Status"), { target: { value: "ALERT_STATUS_DISMISSED" } });
    const submit = within(again).getByRole("button", { name: "Review" });
    expect(submit).toBeDisabled(); // dismissing needs a note
    fireEvent.change(within(again).getByLabelText(/Note/), { target: { value: "  hedging, not spoofing " } });
    expect(submit).toBeEnabled();
    fireEvent.click(submit);
    await waitFor(() => expect(reviewed).toHaveLength(2));
    expect(JSON.parse(calls[1]?.body ?? "{}")).toEqual({ status: "ALERT_STATUS_DISMISSED", note: "hedging, not spoofing" });
    expect(reviewed[1]).toMatchObject({ status: "ALERT_STATUS_DISMISSED", review_count: 2 });
  });

  it("shows the exchange's refusal of a closed alert", async () => {
    const closed: Alert = { ...SPOOF, status: "ALERT_STATUS_CONFIRMED", review_count: 3 };
    const { session } = await signedIn(
      { "POST /api/risk/alerts/7:resolve": () => [400, refusal(9, "ALERT_CLOSED", "alert 7 is closed: only an administrator may review it again")] },
      OFFICER,
    );
    const reviewed: Alert[] = [];
    render(<AlertReview session={session} alert={closed} onReviewed={(alert) => reviewed.push(alert)} />);
    const form = screen.getByRole("form", { name: "review alert 7" });
    fireEvent.change(within(form).getByLabelText("Status"), { target: { value: "ALERT_STATUS_OPEN" } });
    fireEvent.click(within(form).getByRole("button", { name: "Review" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("only an administrator may review it again");
    expect(reviewed).toEqual([]);
  });
});

describe("mergeAlerts and reviews", () => {
  it("keeps the copy with more reviews whichever comes last", () => {
    const reviewed: Alert = { ...SPOOF, status: "ALERT_STATUS_ESCALATED", review_count: 2 };
    expect(mergeAlerts([reviewed], [SPOOF])[0]?.status).toBe("ALERT_STATUS_ESCALATED");
    expect(mergeAlerts([SPOOF], [reviewed])[0]?.status).toBe("ALERT_STATUS_ESCALATED");
  });
});
