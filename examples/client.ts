import { GoogleGenAI } from "@google/genai";

/**
 * The one change from Google's quickstart: the client points at genai-local.
 * GENAI_LOCAL_URL and GENAI_LOCAL_API_KEY say where and with which key.
 */
export const client = new GoogleGenAI({
  apiKey: process.env.GENAI_LOCAL_API_KEY ?? process.env.GEMINI_API_KEY ?? "genai-local",
  httpOptions: { baseUrl: process.env.GENAI_LOCAL_URL ?? "http://127.0.0.1:8080" },
});

export const MODEL_ID = process.env.MODEL_ID ?? "gemini-3-flash-preview";
